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
    return 0


if __name__ == '__main__':
    sys.exit(main())
