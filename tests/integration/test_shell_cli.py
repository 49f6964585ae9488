#!/usr/bin/python3
"""osqi one-shot and stdin behaviour: output modes byte for byte,
meta-commands, osquery's exit codes and error texts."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

BUILD = os.environ.get("OSQ_BUILD", os.path.join(os.path.dirname(__file__), "../../build"))
OSQI = os.path.join(BUILD, "osqi")
GLOG = re.compile(r"^[IWEF]\d{4} ")


class Shell:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="osqi-test-")
        self.home = os.path.join(self.tmp, "home")
        os.mkdir(self.home)
        self.sock = os.path.join(self.tmp, "osqi.em")

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run(self, *args, stdin="", flags=True, timeout=60):
        env = dict(os.environ, HOME=self.home)
        env.pop("TERM", None)
        argv = [OSQI]
        if flags:
            argv.append("--extensions_socket=" + self.sock)
        argv += list(args)
        p = subprocess.run(argv, input=stdin.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env, timeout=timeout)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    @staticmethod
    def errors(err):
        """stderr without glog-shaped status lines."""
        return [l for l in err.splitlines() if not GLOG.match(l)]


class ShellTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sh = Shell()

    @classmethod
    def tearDownClass(cls):
        cls.sh.close()

    def ok(self, *args, stdin=""):
        rc, out, err = self.sh.run(*args, stdin=stdin)
        self.assertEqual(rc, 0, err)
        self.assertEqual(Shell.errors(err), [], err)
        return out

    # ---- output modes ---------------------------------------------------
    Q = "select 1 as a, 'x' as b, null as c"

    def test_pretty(self):
        self.assertEqual(self.ok(self.Q),
                         "+---+---+---+\n"
                         "| a | b | c |\n"
                         "+---+---+---+\n"
                         "| 1 | x |   |\n"
                         "+---+---+---+\n")

    def test_pretty_widths_utf8_and_nullvalue(self):
        out = self.ok("--nullvalue=NULL",
                      "select 'h\u00e9llo' as word, null as n union all select 'a', 2")
        self.assertEqual(out,
                         "+-------+------+\n"
                         "| word  | n    |\n"
                         "+-------+------+\n"
                         "| h\u00e9llo | NULL |\n"
                         "| a     | 2    |\n"
                         "+-------+------+\n")

    def test_pretty_zero_rows_prints_nothing(self):
        self.assertEqual(self.ok("select 1 as a where 0"), "")

    def test_pretty_each_statement_gets_a_table(self):
        out = self.ok("select 1 as a; select 22 as bb")
        self.assertEqual(out, "+---+\n| a |\n+---+\n| 1 |\n+---+\n"
                              "+----+\n| bb |\n+----+\n| 22 |\n+----+\n")

    def test_line(self):
        self.assertEqual(self.ok("--line", "select 1 as a, 'x' as longname, null as c "
                                           "union all select 2, 'y', 3"),
                         "       a = 1\nlongname = x\n       c = \n\n"
                         "       a = 2\nlongname = y\n       c = 3\n")

    def test_line_min_width_five(self):
        self.assertEqual(self.ok("--line", "select 1 as a"), "    a = 1\n")

    def test_csv_quoting(self):
        q = ("select 1 as a, 'x y' as b, 'q\"t' as c, 'plain' as d, "
             "'s''q' as e, 'caf\u00e9' as f, 'p,c' as g, null as h")
        self.assertEqual(self.ok("--csv", "--separator", ",", q),
                         'a,b,c,d,e,f,g,h\n'
                         '1,"x y","q""t",plain,"s\'q","caf\u00e9","p,c",\n')

    def test_csv_separator_quirk(self):
        # osquery: --separator (default '|') replaces the ',' --csv chose
        self.assertEqual(self.ok("--csv", "select 1 as a, 'x|y' as b"),
                         'a|b\n1|"x|y"\n')

    def test_csv_mode_meta_sets_comma(self):
        self.assertEqual(self.ok(stdin=".mode csv\nselect 1 as a, 2 as b;\n"),
                         "a,b\n1,2\n")

    def test_list(self):
        self.assertEqual(self.ok("--list", self.Q), "a|b|c\n1|x|\n")
        self.assertEqual(self.ok("--list", "--header=false", "--separator", "::",
                                 "--nullvalue", "-", self.Q), "1::x::-\n")
        self.assertEqual(self.ok("--list", "select 1 as a where 0"), "")

    def test_json(self):
        self.assertEqual(self.ok("--json", "select 'x' as b, 1 as a, null as c, 1.5 as d"),
                         '[\n  {"a":"1","b":"x","c":"","d":"1.5"}\n]\n')
        self.assertEqual(self.ok("--json", "select 1 as a where 0"), "[\n\n]\n")
        out = self.ok("--json", "select 2 as n union all select 1 order by 1")
        self.assertEqual(out, '[\n  {"n":"1"},\n  {"n":"2"}\n]\n')

    def test_json_escapes(self):
        out = self.ok("--json", "select 'a\"b\\c' || char(10) || char(1) || '\u00e9' as v")
        self.assertEqual(out, '[\n  {"v":"a\\"b\\\\c\\n\\u0001\u00e9"}\n]\n')
        self.assertEqual(json.loads(out), [{"v": 'a"b\\c\n\x01\u00e9'}])

    def test_json_duplicate_names_last_wins(self):
        self.assertEqual(self.ok("--json", "select 1 as a, 2 as a"),
                         '[\n  {"a":"2"}\n]\n')

    def test_json_pretty(self):
        self.assertEqual(self.ok("--json_pretty", "select 'x' as b, 1 as a union all select 'y', 2"),
                         '[\n  {\n    "a": "1",\n    "b": "x"\n  },\n'
                         '  {\n    "a": "2",\n    "b": "y"\n  }\n]\n')
        self.assertEqual(self.ok("--json_pretty", "select 1 where 0"), "[]\n")

    def test_json_one_array_per_input(self):
        out = self.ok("--json", "select 1 as a; select 2 as b")
        self.assertEqual(json.loads(out), [{"a": "1"}, {"b": "2"}])

    def test_mode_flag_precedence(self):
        # list beats line beats csv; --json only replaces pretty
        self.assertEqual(self.ok("--list", "--line", "--json", "select 1 as a"), "a\n1\n")
        self.assertEqual(self.ok("--line", "--csv", "select 1 as a"), "    a = 1\n")

    def test_column(self):
        out = self.ok(stdin=".mode column\nselect 1 as a, 'xyz' as b;\n")
        self.assertEqual(out, "a           b         \n"
                              "----------  ----------\n"
                              "1           xyz       \n")
        out = self.ok(stdin=".mode columns\n.width 2 -4\n.headers off\n"
                            "select 'abcdef' as a, 'x' as b;\n")
        self.assertEqual(out, "ab     x\n")

    # ---- inputs -----------------------------------------------------------
    def test_query_flags(self):
        self.assertEqual(self.ok("--list", "--query", "select 7 as q"), "q\n7\n")
        qf = os.path.join(self.sh.tmp, "q.sql")
        with open(qf, "w") as f:
            f.write("select 8 as q;\nselect 9 as r;\n")
        self.assertEqual(self.ok("--list", "--query_file", qf), "q\n8\nr\n9\n")
        rc, out, err = self.sh.run("--query_file", qf + ".missing")
        self.assertEqual(rc, 1)
        self.assertEqual(Shell.errors(err),
                         ["Error reading query file '%s.missing': No such file or directory" % qf])

    def test_pack(self):
        conf = os.path.join(self.sh.tmp, "osq.conf")
        with open(conf, "w") as f:
            json.dump({"packs": {
                "p1": {"queries": {"b": {"query": "select 2 as two", "interval": 60},
                                   "a": {"query": "select 1 as one", "interval": 60}}},
                "bad": {"queries": {"x": {"query": "select * from nope", "interval": 60},
                                    "y": {"query": "select 3", "interval": 60}}}}}, f)
        self.assertEqual(self.ok("--config_path", conf, "--list", "--pack", "p1"),
                         "one\n1\ntwo\n2\n")
        rc, out, err = self.sh.run("--config_path", conf, "--pack", "bad")
        self.assertEqual((rc, out), (1, ""))
        self.assertEqual(Shell.errors(err), ["Error: no such table: nope",
                                             "Could not execute query x: select * from nope"])
        rc, out, err = self.sh.run("--config_path", conf, "--pack", "none")
        self.assertEqual(rc, 1)
        self.assertEqual(Shell.errors(err), ["Error: the config has no pack named 'none'"])
        rc, out, err = self.sh.run("--config_path", conf + ".missing", "--pack", "p1")
        self.assertEqual(rc, 1)
        self.assertTrue(Shell.errors(err)[0].startswith("Error: cannot load the config: "), err)

    def test_positional_meta_command(self):
        self.assertEqual(self.ok(".print hello  world"), "hello world\n")
        rc, out, err = self.sh.run(".nope")
        self.assertEqual(rc, 1)
        self.assertEqual(Shell.errors(err),
                         ['Error: unknown command or invalid arguments:  "nope". Enter ".help" for help'])
        rc, _, _ = self.sh.run(".exit 4")
        self.assertEqual(rc, 4)
        rc, _, _ = self.sh.run(".quit")
        self.assertEqual(rc, 0)

    def test_output_file(self):
        path = os.path.join(self.sh.tmp, "out.txt")
        self.assertEqual(self.ok("--list", "--output", path, "select 5 as o"), "")
        with open(path) as f:
            self.assertEqual(f.read(), "o\n5\n")
        self.assertEqual(self.ok("--list", "--output", "-", "select 5 as o"), "o\n5\n")
        bad = os.path.join(self.sh.tmp, "no", "such", "dir")
        rc, out, err = self.sh.run("--output", bad, "select 1")
        self.assertEqual(rc, 1)
        self.assertEqual(Shell.errors(err), ["Error: Cannot open output file '%s'" % bad])

    def test_stdin_statements(self):
        stdin = ("select 1 as a;\n"
                 "select\n  2 as b\n;\n"
                 "-- a comment\n"
                 "select 3 as c; select 4 as d;\n"
                 "select 5 as e")  # no ';' at EOF: still runs
        self.assertEqual(self.ok("--list", stdin=stdin),
                         "a\n1\nb\n2\nc\n3\nd\n4\ne\n5\n")

    def test_stdin_line_bounded(self):
        stdin = "select 1 as a;\nselect '" + "x" * 300000 + "';\nselect 2 as b;\n"
        rc, out, err = self.sh.run("--list", "--read_max=100000", stdin=stdin)
        self.assertEqual((rc, out), (1, "a\n1\nb\n2\n"))
        self.assertEqual(Shell.errors(err),
                         ["Error: near line 2: statement longer than 100000 bytes"])

    def test_stdin_semicolon_in_string(self):
        self.assertEqual(self.ok("--list", stdin="select 'a;b' as s;\n"), "s\na;b\n")

    # ---- meta-commands -----------------------------------------------------
    def test_meta_settings(self):
        stdin = (".headers off\n.mode list\n.separator ,\n.nullvalue NIL\n"
                 "select 1, null;\n"
                 ".head on\n.sep ' : '\nselect 2 as x, 3 as y;\n")
        self.assertEqual(self.ok(stdin=stdin), "1,NIL\nx : y\n2 : 3\n")

    def test_meta_print_echo(self):
        out = self.ok("--list", stdin='.print "a\\tb" c\n.echo on\nselect 1 as v;\n.echo off\nselect 2 as w;\n')
        self.assertEqual(out, "a\tb c\nselect 1 as v;\nv\n1\n.echo off\nw\n2\n")

    def test_meta_mode_error(self):
        rc, out, err = self.sh.run(stdin=".mode bogus\n")
        self.assertEqual(rc, 1)
        self.assertEqual(Shell.errors(err), ["Error: mode should be one of: column csv line list pretty"])

    def test_meta_unknown(self):
        rc, out, err = self.sh.run(stdin=".frobnicate 1\n.tables\n")
        self.assertEqual(rc, 1)
        self.assertIn('Error: unknown command or invalid arguments:  "frobnicate". '
                      'Enter ".help" for help', err)
        self.assertIn("  => processes\n", out)  # kept going: no .bail

    def test_meta_boolean_words(self):
        for word in ("on", "1", "yes", "TRUE", "enable", "t", "ok", "y"):
            out = self.ok("--list", stdin=".headers off\n.headers %s\nselect 1 as h;\n" % word)
            self.assertEqual(out, "h\n1\n", word)
        rc, out, err = self.sh.run("--list", stdin=".headers maybe\nselect 1 as h;\n")
        self.assertIn('ERROR: Not a boolean value: "maybe". Assuming "no".', err)
        self.assertEqual(out, "1\n")

    def test_meta_help_goes_to_stderr(self):
        rc, out, err = self.sh.run(stdin=".help\n")
        self.assertEqual(rc, 0)
        self.assertEqual(out, "")
        for cmd in (".all", ".bail", ".mode", ".schema", ".tables", ".timer", ".types"):
            self.assertIn(cmd, err)

    def test_meta_tables_and_prefix(self):
        out = self.ok(".tables")
        names = [l[5:] for l in out.splitlines()]
        self.assertTrue(all(l.startswith("  => ") for l in out.splitlines()))
        self.assertEqual(names, sorted(names))
        self.assertIn("osquery_info", names)
        self.assertIn("processes", names)
        out = self.ok(".tables osquery_")
        self.assertTrue(out and all(l.startswith("  => osquery_") for l in out.splitlines()), out)
        self.assertEqual(self.ok("-L"), self.ok(".tables"))

    def test_meta_schema(self):
        out = self.ok(".schema processes")
        self.assertTrue(out.startswith("CREATE TABLE processes(`pid` BIGINT"), out)
        self.assertTrue(out.endswith(";\n"))
        self.assertIn("PRIMARY KEY (`pid`)) WITHOUT ROWID;", out)

    def test_meta_features_show_version_socket(self):
        out = self.ok(".features")
        self.assertIn("disable_extensions: ", out)
        for l in out.splitlines():
            self.assertRegex(l, r"^(disable|enable)_\w+: (true|false)$")
        out = self.ok(".version")
        self.assertRegex(out, r"^osq \d+\.\d+\.\d+\nusing SQLite 3\.\d+\.\d+\n$")
        self.assertEqual(self.ok(".socket"), self.sh.sock + "\n")
        out = self.ok("--nullvalue", "N", ".show")
        self.assertIn("General settings:", out)
        self.assertIn("       Socket: %s\n" % self.sh.sock, out)
        self.assertIn("         mode: pretty\n", out)
        self.assertIn("    nullvalue: \"N\"\n", out)
        self.assertIn("    separator: \"|\"\n", out)
        self.assertIn("Non-default flags/options:\n", out)
        self.assertIn("  nullvalue: N\n", out)
        self.assertEqual(self.ok(".summary").splitlines()[:3], out.splitlines()[:3])

    def test_meta_socket_default_in_home(self):
        rc, out, err = self.sh.run(".socket", flags=False)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, os.path.join(self.sh.home, ".osq", "shell.em") + "\n")
        st = os.stat(os.path.join(self.sh.home, ".osq"))
        self.assertEqual(st.st_mode & 0o777, 0o700)

    def test_meta_all_and_A(self):
        self.assertEqual(self.ok("--list", "-A", "time").count("\n"), 2)
        rc, out, err = self.sh.run("-A", "no_such_table")
        self.assertEqual(rc, 1)
        self.assertEqual(Shell.errors(err), ["Error querying table: no_such_table"])

    def test_meta_types(self):
        out = self.ok("--list", stdin=".types select 1 as i, 'a' as t;\n")
        self.assertEqual(out.splitlines()[0], "name|type")
        self.assertEqual([l.split("|")[0] for l in out.splitlines()[1:]], ["i", "t"])

    def test_meta_timer(self):
        out = self.ok("--list", stdin=".timer on\nselect 1 as t;\n")
        self.assertRegex(out, r"^t\n1\nRun Time: real \d+\.\d{3} user \d+\.\d{6} sys \d+\.\d{6}\n$")

    def test_bail(self):
        stdin = "select 1 as a;\nselec;\nselect 2 as b;\n"
        rc, out, err = self.sh.run("--list", stdin=stdin)
        self.assertEqual(rc, 1)
        self.assertEqual(out, "a\n1\nb\n2\n")
        self.assertEqual(Shell.errors(err), ['Error: near line 2: near "selec": syntax error'])
        rc, out, err = self.sh.run("--list", stdin=".bail on\n" + stdin)
        self.assertEqual(rc, 1)
        self.assertEqual(out, "a\n1\n")
        self.assertEqual(Shell.errors(err), ['Error: near line 3: near "selec": syntax error'])

    def test_exit_codes_stdin(self):
        rc, out, err = self.sh.run("--list", stdin="select 1 as a;\n.exit 3\nselect 2;\n")
        self.assertEqual((rc, out), (3, "a\n1\n"))
        rc, out, err = self.sh.run(stdin=".quit\nselect 2;\n")
        self.assertEqual((rc, out), (0, ""))
        rc, out, err = self.sh.run(stdin="select 1 from nope;\n.exit\n")
        self.assertEqual(rc, 1)
        self.assertEqual(Shell.errors(err), ["Error: near line 1: no such table: nope"])

    # ---- errors and exit codes ---------------------------------------------
    def test_bad_sql(self):
        rc, out, err = self.sh.run("selec 1")
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertEqual(Shell.errors(err), ['Error: near "selec": syntax error'])
        rc, out, err = self.sh.run("--query", "select * from nope")
        self.assertEqual(rc, 1)
        self.assertEqual(Shell.errors(err), ["Error: no such table: nope"])

    def test_first_failure_stops(self):
        rc, out, err = self.sh.run("--list", "select 1 as a; select * from nope; select 2 as b")
        self.assertEqual((rc, out), (1, "a\n1\n"))

    def test_missing_required_column(self):
        rc, out, err = self.sh.run("select * from file")
        self.assertEqual(rc, 19, err)
        self.assertIn("Error: Table file was queried without a required column "
                      "in the WHERE clause", Shell.errors(err))
        self.assertIn("Please see the table documentation: https://osquery.io/schema/#file", err)

    def test_unknown_flag(self):
        rc, out, err = self.sh.run("--x")
        self.assertEqual((rc, out, err), (1, "", "ERROR: unknown command line flag 'x'\n"))

    def test_help_version(self):
        rc, out, err = self.sh.run("--help", flags=False)
        self.assertEqual(rc, 0)
        self.assertIn("Usage: osqi [OPTION]... [SQL STATEMENT]", out)
        self.assertIn("--json", out)
        rc, out, err = self.sh.run("--version", flags=False)
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"^osqi version \d+\.\d+\.\d+\n$")

    # ---- real tables ----------------------------------------------------------
    def test_osquery_info(self):
        rows = json.loads(self.ok("--json", "select * from osquery_info"))
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["pid"], rows[0]["pid"].strip())
        self.assertTrue(int(rows[0]["pid"]) > 0)

    def test_processes(self):
        out = self.ok("--json", "select pid, name from processes where pid = %d" % os.getpid())
        rows = json.loads(out)
        self.assertEqual(rows, [{"pid": str(os.getpid()), "name": "python3"}])
        rows = json.loads(self.ok("--json", "select count(*) as n from processes"))
        self.assertGreater(int(rows[0]["n"]), 1)


if __name__ == "__main__":
    if not os.access(OSQI, os.X_OK):
        print("osqi not built at %s" % OSQI)
        sys.exit(1)
    unittest.main(verbosity=2)
