"""scripts/slowest_tests.py: the N slowest test cases across every tox environment's JUnit report."""
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / 'scripts' / 'slowest_tests.py'


def junit(cases, failures=0, skipped=0):
    body = ''.join(f'<testcase classname="{c}" name="{n}" time="{t}"/>' for c, n, t in cases)
    total = sum(t for *_, t in cases)
    return (f'<?xml version="1.0"?><testsuites><testsuite name="pytest" tests="{len(cases)}" errors="0" '
            f'failures="{failures}" skipped="{skipped}" time="{total}">{body}</testsuite></testsuites>')


def test_lists_the_slowest_across_environments(tmp_path):
    (tmp_path / 'core.xml').write_text(junit([('a', 'fast', 0.5), ('a', 'slow', 30.0)]))
    (tmp_path / 'reid.xml').write_text(junit([('b', 'slowest', 45.25), ('b', 'mid', 3.0)], failures=1, skipped=1))
    out = subprocess.run([sys.executable, str(SCRIPT), '--dir', str(tmp_path), '-n', '3'],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == '[slowest] 3 slowest of 4 tests (79 s in test bodies):'
    assert [line.split()[-1] for line in out[1:4]] == ['b::slowest', 'a::slow', 'b::mid']
    assert out[1].split()[3] == 'reid' and '45.2 s' in out[1]
    # then each suite's counts (parallel tox hides the pytest summary of the environments that pass)
    assert [line.split() for line in out[4:]] == [
        ['[suite]', 'core', '2', 'tests,', '0', 'failed,', '0', 'skipped,', '30', 's'],
        ['[suite]', 'reid', '2', 'tests,', '1', 'failed,', '1', 'skipped,', '48', 's']]


def test_no_reports_is_not_an_error(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), '--dir', str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0 and 'no JUnit reports' in proc.stdout
