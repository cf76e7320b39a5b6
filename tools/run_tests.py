#!/usr/bin/env python3
"""The whole test suite of sale_amazon_spapi, in one command.

1. ruff and pylint-odoo on the addon;
2. the plain tests (pytest, no Odoo needed);
3. when ``import odoo`` gives 18.0: a fresh database, ``-i sale_amazon_spapi`` without
   demo data (the install must log no WARNING/ERROR), the Odoo tests (post_install), and
   the database dropped again. Without Odoo one line says so and the Odoo tests are
   counted as skipped.

It ends on one line ``total: N passed, N failed, N skipped`` and exits non-zero when
anything failed.
"""

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections import Counter

ADDON = "sale_amazon_spapi"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Log lines that say nothing about the addon and that Odoo prints on any run as root.
LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ ")
IGNORED_LOG = (re.compile(r"Running as user 'root' is a security risk"),)


def run(cmd, **kwargs):
    print("$ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=False, **kwargs)


def count_odoo_tests():
    count = 0
    tests_dir = os.path.join(ROOT, "tests")
    for name in sorted(os.listdir(tests_dir)):
        if name.startswith("test_") and name.endswith(".py"):
            with open(os.path.join(tests_dir, name), encoding="utf-8") as f:
                tree = ast.parse(f.read())
            count += sum(
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and node.name.startswith("test")
                for node in ast.walk(tree)
            )
    return count


def lint():
    failed = 0
    if shutil.which("ruff") or _has_module("ruff"):
        failed += (
            run([sys.executable, "-m", "ruff", "check", "--no-fix", ROOT]).returncode
            != 0
        )
        failed += (
            run([sys.executable, "-m", "ruff", "format", "--check", ROOT]).returncode
            != 0
        )
    else:
        print("lint: ruff is not installed, skipped")
    if _has_module("pylint_odoo"):
        with tempfile.TemporaryDirectory() as tmp:
            link = os.path.join(tmp, ADDON)
            os.symlink(ROOT, link)
            failed += (
                run(
                    [
                        sys.executable,
                        "-m",
                        "pylint",
                        "--rcfile",
                        os.path.join(ROOT, ".pylintrc-mandatory"),
                        link,
                    ],
                    cwd=tmp,
                ).returncode
                != 0
            )
    else:
        print("lint: pylint-odoo is not installed, skipped")
    return failed


def _has_module(name):
    import importlib.util

    return importlib.util.find_spec(name) is not None


def plain_tests():
    junit = os.path.join(tempfile.gettempdir(), f"plain-{uuid.uuid4().hex}.xml")
    proc = run(
        [
            sys.executable,
            "-m",
            "pytest",
            os.path.join(ROOT, "tests", "plain"),
            "-q",
            "-p",
            "no:cacheprovider",
            # Also set in tests/plain/pytest.ini: pytest-odoo wants a database.
            "-p",
            "no:odoo",
            f"--junitxml={junit}",
        ],
        cwd=ROOT,
    )
    return junit_counts(junit, proc.returncode)


def junit_counts(junit, returncode):
    """(passed, failed, skipped) from pytest's JUnit XML report."""
    passed = failed = skipped = 0
    if os.path.exists(junit):
        import xml.etree.ElementTree as ET

        # One outcome per test: the suite's totals also count each subTest, and
        # an error in a teardown is a second entry of the same test.
        outcomes = {}
        for case in ET.parse(junit).getroot().iter("testcase"):
            key = (case.get("classname"), case.get("name"))
            if case.find("failure") is not None or case.find("error") is not None:
                outcome = 2
            else:
                outcome = 0 if case.find("skipped") is not None else 1
            outcomes[key] = max(outcomes.get(key, 0), outcome)
        counts = Counter(outcomes.values())
        passed, failed, skipped = counts[1], counts[2], counts[0]
        os.unlink(junit)
    # pytest exits 5 when it collected nothing: that is a failure of the suite here.
    if returncode not in (0,) and not failed:
        failed = 1
    return passed, failed, skipped


def odoo_available():
    probe = "import odoo.release as r; print(r.version_info[0])"
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    return proc.returncode == 0 and proc.stdout.strip() == "18"


def browser_problem():
    """Why the tours (tests/test_tours.py) cannot drive a headless Chromium, if so.

    Odoo would skip them; the tests fail instead, and this says why up front.
    """
    # The names Odoo 18's ChromeBrowser looks for on Linux.
    names = ("google-chrome", "chromium", "chromium-browser", "google-chrome-stable")
    if not any(shutil.which(name) for name in names):
        return (
            "no Chromium or Chrome on PATH (Debian: apt-get install chromium; "
            ".ci/run installs it)"
        )
    if not _has_module("websocket"):
        return "the websocket-client module is missing (test-requirements.txt)"
    return None


def odoo_addons_paths():
    import odoo

    odoo_dir = os.path.dirname(os.path.abspath(odoo.__file__))
    paths = [os.path.join(odoo_dir, "addons")]
    source_addons = os.path.join(os.path.dirname(odoo_dir), "addons")
    if os.path.isdir(source_addons):
        paths.append(source_addons)
    return paths


def odoo_cmd(db, addons_path, *args):
    return [
        sys.executable,
        "-m",
        "odoo",
        "-d",
        db,
        f"--addons-path={addons_path}",
        "--without-demo=all",
        "--stop-after-init",
        "--http-port=0",
        "--max-cron-threads=0",
        *args,
    ]


def run_logged(cmd, log_path):
    print("$ " + " ".join(cmd), flush=True)
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT
        )
        echo = False  # a traceback follows its log record on lines of its own
        for line in proc.stdout:
            log.write(line)
            if LOG_RECORD.match(line):
                echo = bool(
                    re.search(r" (WARNING|ERROR|CRITICAL) | tests when loading", line)
                )
            if echo:
                sys.stdout.write(line)
        return proc.wait()


def soak_quick(db):
    """A small soak (tools/soak.py --quick) on the database the tests used: the
    import with real commits, faults and kills; one test in the totals."""
    cmd = [sys.executable, os.path.join(ROOT, "tools", "soak.py"), "--quick"]
    proc = run([*cmd, "--db", db], capture_output=True, text=True, cwd=ROOT)
    lines = proc.stdout.splitlines()
    summary = [line for line in lines if line.startswith("SOAK ")]
    if proc.returncode or not summary:
        print("\n".join(lines[-60:]))
        print(proc.stderr[-3000:])
        return 0, 1, 0
    print(summary[-1])
    return 1, 0, 0


def odoo_runner_tests(db, addons_path, test_log, test_tags):
    """Odoo's own runner (``--test-enable``): ``--odoo-runner``, or without
    pytest-odoo."""
    tags = test_tags or f"/{ADDON}"
    rc = run_logged(
        odoo_cmd(
            db,
            addons_path,
            "--test-enable",
            f"--test-tags={tags}",
            "--log-level=test",
        ),
        test_log,
    )
    with open(test_log, encoding="utf-8") as f:
        text = f.read()
    stats = re.findall(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests", text)
    skipped = len(re.findall(r"odoo\.tests\.result: skipped ", text))
    if not stats:
        print(f"odoo: no test summary found (exit code {rc})")
        print(text[-5000:])
        return 0, 1, 0
    failures, errors, total = (int(x) for x in stats[-1])
    failed = failures + errors
    if rc != 0 and not failed:
        failed = 1
    print(f"odoo: Odoo's runner ran {total} tests")
    return max(total - failed - skipped, 0), failed, skipped


def tags_to_keywords(test_tags):
    """``/sale_amazon_spapi:TestClass.test_method,...`` as a pytest ``-k``."""
    terms = []
    for spec in (test_tags or "").split(","):
        spec = spec.strip()
        if not spec or spec.startswith("-") or ":" not in spec:
            continue
        names = [name for name in spec.split(":", 1)[1].split(".") if name]
        if names:
            terms.append("(" + " and ".join(names) + ")")
    return " or ".join(terms)


def pytest_odoo_tests(db, tmp, addons_path, test_tags, pytest_args):
    """The Odoo tests under pytest-odoo, on the database the addon was installed
    on. HttpCase tests need ``--odoo-http``; the plain tests are not Odoo's."""
    tests_dir = os.path.join(tmp, ADDON, "tests")
    junit = os.path.join(tmp, "odoo-junit.xml")
    # An ini of its own: the addon's tests/plain/pytest.ini blocks pytest-odoo.
    ini = os.path.join(tmp, "pytest.ini")
    with open(ini, "w", encoding="utf-8") as f:
        f.write("[pytest]\n")
    # Node ids are given relative to the addon; pytest sees it under its name.
    node_ids = [
        os.path.join(tmp, ADDON, arg)
        for arg in pytest_args
        if os.path.exists(os.path.join(ROOT, arg.split("::", 1)[0]))
    ]
    options = [
        arg
        for arg in pytest_args
        if not os.path.exists(os.path.join(ROOT, arg.split("::", 1)[0]))
    ]
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        *(node_ids or [tests_dir]),
        f"--ignore={os.path.join(tests_dir, 'plain')}",
        "-c",
        ini,
        f"--rootdir={tmp}",
        f"--odoo-database={db}",
        f"--odoo-addons-path={addons_path}",
        "--odoo-http",
        "--odoo-log-level=warn",
        # pytest-odoo imports odoo.tests before any test runs, which Odoo logs as
        # an ERROR outside its own runner.
        "--odoo-extra=log-handler=odoo.tests.common:CRITICAL",
        "-p",
        "pytest_odoo_current_test",
        "-p",
        "no:cacheprovider",
        "-q",
        f"--junitxml={junit}",
    ]
    keywords = tags_to_keywords(test_tags)
    if keywords:
        cmd += ["-k", keywords]
    # tools/ holds the plugin pytest_odoo_current_test.
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [os.path.join(ROOT, "tools"), env.get("PYTHONPATH")])
    )
    proc = run([*cmd, *options], cwd=tmp, env=env)
    return junit_counts(junit, proc.returncode)


def demo_small(db):
    """tools/demo.py, small and without serving, on the tests' database: its
    summary must end on OK. One test in the totals."""
    cmd = [sys.executable, os.path.join(ROOT, "tools", "demo.py"), "--db", db]
    proc = run(
        [*cmd, "--orders", "60", "--no-serve", "--no-update"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    lines = proc.stdout.splitlines()
    summary = [line for line in lines if line.startswith("DEMO ")]
    if proc.returncode or not summary or not summary[-1].endswith(": OK"):
        print("\n".join(lines[-60:]))
        print(proc.stderr[-3000:])
        return 0, 1, 0
    print(summary[-1])
    return 1, 0, 0


def pytest_passthrough(args):
    """-k, -x and node ids for pytest; node ids are relative to the addon."""
    extra = []
    if args.keywords:
        extra += ["-k", args.keywords]
    if args.exitfirst:
        extra.append("-x")
    return extra + list(args.node_ids)


def odoo_tests(
    keep_db=False, test_tags=None, after_tests=None, runner="pytest", pytest_args=()
):
    with tempfile.TemporaryDirectory() as tmp:
        os.symlink(ROOT, os.path.join(tmp, ADDON))
        addons_path = ",".join([tmp, *odoo_addons_paths()])
        db = f"{ADDON}_test_{uuid.uuid4().hex[:8]}"
        install_log = os.path.join(tmp, "install.log")
        test_log = os.path.join(tmp, "test.log")
        try:
            rc = run_logged(
                odoo_cmd(db, addons_path, "-i", ADDON, "--log-level=info"), install_log
            )
            with open(install_log, encoding="utf-8") as f:
                noisy = [
                    line.rstrip()
                    for line in f
                    if re.search(r" (WARNING|ERROR|CRITICAL) ", line)
                    and not any(p.search(line) for p in IGNORED_LOG)
                ]
            install_failed = rc != 0 or bool(noisy)
            if noisy:
                print("odoo: the install logged warnings or errors:")
                print("\n".join(noisy))
            if rc != 0:
                print(f"odoo: the install exited with {rc}")
            if install_failed:
                return 0, 1, 0
            if runner == "pytest":
                result = pytest_odoo_tests(db, tmp, addons_path, test_tags, pytest_args)
            else:
                result = odoo_runner_tests(db, addons_path, test_log, test_tags)
            passed, failed, skipped = result
            if passed + failed + skipped == 0:
                print("odoo: no Odoo test ran")
                failed += 1
            if after_tests:
                after_tests(db)
            return passed, failed, skipped
        finally:
            if keep_db:
                print(f"odoo: database {db} kept")
            else:
                subprocess.run(["dropdb", "--if-exists", db], check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-lint", action="store_true", help="skip ruff and pylint")
    parser.add_argument("--no-plain", action="store_true", help="skip the plain tests")
    parser.add_argument("--no-odoo", action="store_true", help="skip the Odoo tests")
    parser.add_argument(
        "--keep-db", action="store_true", help="keep the Odoo test database"
    )
    parser.add_argument(
        "--test-tags",
        help="Odoo's --test-tags, e.g. /sale_amazon_spapi:TestClass.test_method "
        "(under pytest-odoo: the class and method names as -k)",
    )
    parser.add_argument("-k", dest="keywords", help="pytest -k for the Odoo tests")
    parser.add_argument(
        "-x", "--exitfirst", action="store_true", help="Odoo tests: stop at a failure"
    )
    parser.add_argument(
        "--odoo-runner",
        action="store_true",
        help="run the Odoo tests with Odoo's own runner (--test-enable) instead of "
        "pytest-odoo",
    )
    parser.add_argument(
        "--no-demo",
        action="store_true",
        help="skip tools/demo.py --no-serve (also skipped when tests are selected)",
    )
    parser.add_argument(
        "node_ids",
        nargs="*",
        help="Odoo tests to run by pytest node id, e.g. "
        "tests/test_import_orders.py::TestImportOrders::test_import_creates_orders",
    )
    parser.add_argument(
        "--no-soak",
        action="store_true",
        help="skip tools/soak.py --quick (also skipped with --test-tags)",
    )
    args = parser.parse_args()
    selected = bool(args.test_tags or args.keywords or args.node_ids)
    with_soak = not (args.no_soak or selected)
    with_demo = not (args.no_demo or selected)

    def after_tests(db):
        if with_soak:
            results["soak"] = soak_quick(db)
        if with_demo:
            results["demo"] = demo_small(db)

    results = {}
    failed_lint = 0 if args.no_lint else lint()
    if not args.no_plain:
        results["plain"] = plain_tests()
    if not args.no_odoo:
        if odoo_available():
            problem = browser_problem()
            if problem:
                print(f"odoo: the tours will FAIL: {problem}")
            runner = "pytest" if _has_module("pytest_odoo") else "odoo"
            if args.odoo_runner:
                runner = "odoo"
            elif runner == "odoo":
                print("odoo: pytest-odoo is not installed: Odoo's own runner")
            results["odoo"] = odoo_tests(
                keep_db=args.keep_db,
                test_tags=args.test_tags,
                after_tests=after_tests if with_soak or with_demo else None,
                runner=runner,
                pytest_args=pytest_passthrough(args),
            )
            if with_soak and "soak" not in results:
                print("soak: not run (the Odoo install or tests did not get there)")
                results["soak"] = (0, 0, 1)
            if with_demo and "demo" not in results:
                print("demo: not run (the Odoo install or tests did not get there)")
                results["demo"] = (0, 0, 1)
        else:
            n = count_odoo_tests()
            print(
                f"odoo: Odoo 18.0 is not importable here; "
                f"{n} Odoo tests SKIPPED (not passed)"
            )
            results["odoo"] = (0, 0, n)
            if with_soak:
                results["soak"] = (0, 0, 1)
            if with_demo:
                results["demo"] = (0, 0, 1)
    for name, (p, f, s) in results.items():
        print(f"{name}: {p} passed, {f} failed, {s} skipped")
    passed = sum(r[0] for r in results.values())
    failed = sum(r[1] for r in results.values()) + failed_lint
    skipped = sum(r[2] for r in results.values())
    if failed_lint:
        print(f"lint: {failed_lint} check(s) failed")
    print(f"total: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
