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
            f"--junitxml={junit}",
        ],
        cwd=ROOT,
    )
    passed = failed = skipped = 0
    if os.path.exists(junit):
        import xml.etree.ElementTree as ET

        suite = ET.parse(junit).getroot()
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        total = int(suite.get("tests", 0))
        failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped = int(suite.get("skipped", 0))
        passed = total - failed - skipped
        os.unlink(junit)
    # pytest exits 5 when it collected nothing: that is a failure of the suite here.
    if proc.returncode not in (0,) and not failed:
        failed = 1
    return passed, failed, skipped


def odoo_available():
    probe = "import odoo.release as r; print(r.version_info[0])"
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    return proc.returncode == 0 and proc.stdout.strip() == "18"


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


def odoo_tests(keep_db=False, test_tags=None, after_tests=None):
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
            if total == 0:
                print("odoo: no Odoo test ran")
                failed += 1
            if after_tests:
                after_tests(db)
            return max(total - failed - skipped, 0), failed, skipped
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
        "--test-tags", help="Odoo --test-tags (default: the whole addon)"
    )
    parser.add_argument(
        "--no-soak",
        action="store_true",
        help="skip tools/soak.py --quick (also skipped with --test-tags)",
    )
    args = parser.parse_args()
    with_soak = not (args.no_soak or args.test_tags)

    def after_tests(db):
        results["soak"] = soak_quick(db)

    results = {}
    failed_lint = 0 if args.no_lint else lint()
    if not args.no_plain:
        results["plain"] = plain_tests()
    if not args.no_odoo:
        if odoo_available():
            results["odoo"] = odoo_tests(
                keep_db=args.keep_db,
                test_tags=args.test_tags,
                after_tests=after_tests if with_soak else None,
            )
            if with_soak and "soak" not in results:
                print("soak: not run (the Odoo install or tests did not get there)")
                results["soak"] = (0, 0, 1)
        else:
            n = count_odoo_tests()
            print(
                f"odoo: Odoo 18.0 is not importable here; "
                f"{n} Odoo tests SKIPPED (not passed)"
            )
            results["odoo"] = (0, 0, n)
            if with_soak:
                results["soak"] = (0, 0, 1)
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
