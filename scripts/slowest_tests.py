"""Print the slowest tests of a `make test` run, across every tox environment.

Each tox environment's pytest writes a JUnit XML report (``--junitxml`` in tox.ini) into
``.tox/junit/``; this reads them all and prints the N slowest test cases with their environment:

    python scripts/slowest_tests.py [--dir .tox/junit] [-n 10]
"""
import argparse
import glob
import os.path as osp
import sys
import xml.etree.ElementTree as ET


def test_times(directory: str):
    """``(seconds, environment, test id)`` of every test case in the reports of ``directory``."""
    rows = []
    for path in sorted(glob.glob(osp.join(directory, '*.xml'))):
        env = osp.splitext(osp.basename(path))[0]
        for case in ET.parse(path).getroot().iter('testcase'):
            name = f"{case.get('classname', '')}::{case.get('name', '')}".lstrip(':')
            rows.append((float(case.get('time', 0.0)), env, name))
    return rows


def suite_counts(directory: str):
    """``(environment, tests, failures + errors, skipped, seconds)`` of every report in ``directory``."""
    rows = []
    for path in sorted(glob.glob(osp.join(directory, '*.xml'))):
        env = osp.splitext(osp.basename(path))[0]
        suites = list(ET.parse(path).getroot().iter('testsuite'))
        total = lambda key: sum(int(float(s.get(key, 0))) for s in suites)  # noqa: E731
        rows.append((env, total('tests'), total('failures') + total('errors'), total('skipped'),
                     sum(float(s.get('time', 0)) for s in suites)))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--dir', default=osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), '.tox', 'junit'))
    parser.add_argument('-n', type=int, default=10, help='how many tests to list')
    args = parser.parse_args(argv)
    rows = sorted(test_times(args.dir), reverse=True)
    if not rows:
        print(f'[slowest] no JUnit reports in {args.dir}')
        return 0
    print(f'[slowest] {args.n} slowest of {len(rows)} tests ({sum(r[0] for r in rows):.0f} s in test bodies):')
    for seconds, env, name in rows[:args.n]:
        print(f'[slowest] {seconds:7.1f} s  {env:<12} {name}')
    # environments run in parallel hide the pytest summary of those that pass: the counts, from the reports
    for env, tests, failed, skipped, seconds in suite_counts(args.dir):
        print(f'[suite] {env:<12} {tests:4d} tests, {failed} failed, {skipped} skipped, {seconds:6.0f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
