#!/usr/bin/python3
"""scripts/convert-flag-reads.sh rewrites string-named flag reads to the
typed readers (names known at run time to *_by_name) and the former flag
type names, touches nothing else, and changes nothing when run again."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import eq  # noqa: E402

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                      "scripts", "convert-flag-reads.sh")

BEFORE = '''static void f(const char *name, char *err, size_t n) {
  if (osq_flag_bool("verbose") && osq_flag_str( "logger_path")[0])
    osq_flag_set("pack_delimiter", "/", err, n);
  uint64_t a = osq_flag_uint("read_max") + osq_flag_int("watchdog_level");
  double d = osq_flag_double(
      "read_max");
  bool s = osq_flag_was_set("verbose") || osq_flag_is_default("x_y2");
  osq_flag_set_default("hash_delay", "0");
  const char *v = osq_flag_str(name);
  osq_flag_set(name, v, err, n);
  my_osq_flag_str("verbose"); /* osq_flag_str("in a comment") */
  sort_by_name(name);
}
static const osq_flag_def mine[] = {{"x", OSQ_FLAG_STRING, "", 0, ""},
                                    {"y", OSQ_FLAG_UINT64, "1", 0, ""}};
'''

AFTER = '''static void f(const char *name, char *err, size_t n) {
  if (OSQ_FLAG_BOOL(verbose) && OSQ_FLAG_STR(logger_path)[0])
    OSQ_FLAG_SET(pack_delimiter, "/", err, n);
  uint64_t a = OSQ_FLAG_UINT(read_max) + OSQ_FLAG_INT(watchdog_level);
  double d = OSQ_FLAG_DOUBLE(read_max);
  bool s = OSQ_FLAG_WAS_SET(verbose) || OSQ_FLAG_IS_DEFAULT(x_y2);
  OSQ_FLAG_SET_DEFAULT(hash_delay, "0");
  const char *v = osq_flag_str_by_name(name);
  osq_flag_set(name, v, err, n);
  my_osq_flag_str("verbose"); /* osq_flag_str_by_name("in a comment") */
  sort_by_name(name);
}
static const osq_flag_def mine[] = {{"x", OSQ_FT_STRING, "", 0, ""},
                                    {"y", OSQ_FT_UINT64, "1", 0, ""}};
'''


def run(d):
    p = subprocess.run(["sh", SCRIPT, d], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    eq(p.returncode, 0, p.stderr.decode())
    return p.stdout.decode().split()


def test_convert_and_idempotent():
    d = osqtest.workdir("convert-")
    src = os.path.join(d, "a.c")
    other = os.path.join(d, "b.h")
    with open(src, "w") as f:
        f.write(BEFORE)
    with open(other, "w") as f:
        f.write("int nothing_to_do;\n")
    eq(run(d), [src], "changed files")
    with open(src) as f:
        eq(f.read(), AFTER, "converted text")
    eq(run(d), [], "second run changes nothing")
    with open(src) as f:
        eq(f.read(), AFTER, "unchanged by the second run")


if __name__ == "__main__":
    osqtest.run_tests([test_convert_and_idempotent])
