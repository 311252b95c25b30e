"""scripts/slowest_tests.py: the N slowest test cases across every tox environment's JUnit report."""
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / 'scripts' / 'slowest_tests.py'


def junit(cases):
    body = ''.join(f'<testcase classname="{c}" name="{n}" time="{t}"/>' for c, n, t in cases)
    return f'<?xml version="1.0"?><testsuites><testsuite name="pytest">{body}</testsuite></testsuites>'


def test_lists_the_slowest_across_environments(tmp_path):
    (tmp_path / 'core.xml').write_text(junit([('a', 'fast', 0.5), ('a', 'slow', 30.0)]))
    (tmp_path / 'reid.xml').write_text(junit([('b', 'slowest', 45.25), ('b', 'mid', 3.0)]))
    out = subprocess.run([sys.executable, str(SCRIPT), '--dir', str(tmp_path), '-n', '3'],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == '[slowest] 3 slowest of 4 tests (79 s in test bodies):'
    assert [line.split()[-1] for line in out[1:]] == ['b::slowest', 'a::slow', 'b::mid']
    assert out[1].split()[3] == 'reid' and '45.2 s' in out[1]


def test_no_reports_is_not_an_error(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), '--dir', str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0 and 'no JUnit reports' in proc.stdout
