#!/usr/bin/python3
"""certificates against `openssl x509` on certificates the test makes in
a store directory: an RSA CA and an EC leaf it signs (one file each) and
a bundle holding both; the path constraint as a file and as a LIKE over
the directory; a file that is no PEM."""
import calendar
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import osqtest  # noqa: E402
from osqtest import eq  # noqa: E402
from tablelib import osqi_json  # noqa: E402


def openssl(*args, cwd=None):
    return subprocess.run(["openssl"] + list(args), capture_output=True,
                          text=True, check=True, timeout=120,
                          cwd=cwd).stdout


def make_store(d):
    store = os.path.join(d, "store")
    os.makedirs(store)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
            "ca.key", "-out", os.path.join(store, "ca.pem"), "-days", "30",
            "-subj", "/C=US/O=osq tests/CN=osq test CA", "-addext",
            "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj",
            "/O=osq tests/CN=leaf.example", cwd=d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("keyUsage=digitalSignature,keyAgreement\n"
                "subjectKeyIdentifier=hash\n"
                "authorityKeyIdentifier=keyid\n")
    openssl("x509", "-req", "-in", "leaf.csr", "-CA",
            os.path.join(store, "ca.pem"), "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "10", "-extfile", "ext.cnf", "-out",
            os.path.join(store, "leaf.pem"), cwd=d)
    with open(os.path.join(d, "bundle.crt"), "w") as f:
        for n in ("ca.pem", "leaf.pem"):
            f.write(open(os.path.join(store, n)).read())
    with open(os.path.join(store, "notes.txt"), "w") as f:
        f.write("not a certificate\n")
    return store


def x509(path, *opts):
    """openssl x509 -noout <opts> on path, as {key: value}."""
    out = openssl("x509", "-in", path, "-noout", *opts)
    kv = {}
    for line in out.splitlines():
        k, _, v = line.partition("=")
        kv[k.strip()] = v.strip()
    return kv


def epoch(s):
    return str(calendar.timegm(time.strptime(s, "%b %d %H:%M:%S %Y GMT")))


def ext_hex(path, ext):
    out = openssl("x509", "-in", path, "-noout", "-ext", ext)
    lines = [ln.strip() for ln in out.splitlines()[1:] if ln.strip()]
    return lines[0].replace("keyid:", "").replace(":", "").lower() \
        if lines else ""


def expected(path, shown_path):
    compat = x509(path, "-subject", "-issuer", "-nameopt", "compat")
    oneline = x509(path, "-subject", "-issuer", "-nameopt", "oneline")
    other = x509(path, "-serial", "-startdate", "-enddate", "-fingerprint",
                 "-sha1")
    return {"path": shown_path,
            "subject": compat["subject"], "issuer": compat["issuer"],
            "subject2": oneline["subject"], "issuer2": oneline["issuer"],
            "serial": other["serial"].lstrip("0") or "0",
            "not_valid_before": epoch(other["notBefore"]),
            "not_valid_after": epoch(other["notAfter"]),
            "sha1": other["sha1 Fingerprint"].replace(":", "").lower(),
            "subject_key_id": ext_hex(path, "subjectKeyIdentifier"),
            "authority_key_id": ext_hex(path, "authorityKeyIdentifier")}


COLS = ("path, subject, issuer, subject2, issuer2, serial, "
        "not_valid_before, not_valid_after, sha1, subject_key_id, "
        "authority_key_id")


def test_against_openssl():
    d = osqtest.workdir()
    store = make_store(d)
    ca, leaf = os.path.join(store, "ca.pem"), os.path.join(store, "leaf.pem")

    rows, _ = osqi_json("select %s from certificates where path like "
                        "'%s/%%' order by path" % (COLS, store))
    for r in rows:
        r["serial"] = r["serial"].lstrip("0") or "0"
    eq(rows, [expected(ca, ca), expected(leaf, leaf)],
       "store directory vs openssl x509")

    rows, _ = osqi_json("select common_name, ca, self_signed, "
                        "signing_algorithm, key_algorithm, key_strength, "
                        "key_usage from certificates where path = '%s/"
                        "bundle.crt'" % d)
    eq(rows, [
        {"common_name": "osq test CA", "ca": "1", "self_signed": "1",
         "signing_algorithm": "sha256WithRSAEncryption",
         "key_algorithm": "rsaEncryption", "key_strength": "2048",
         "key_usage": "CRL Sign, Key Cert Sign"},
        {"common_name": "leaf.example", "ca": "0", "self_signed": "0",
         "signing_algorithm": "sha256WithRSAEncryption",
         "key_algorithm": "id-ecPublicKey",
         "key_strength": "prime256v1",
         "key_usage": "Key Agreement, Digital Signature"}],
       "bundle: both certificates, in order")

    rows, _ = osqi_json("select * from certificates where path = '%s/"
                        "notes.txt'" % store)
    eq(rows, [], "not PEM: no rows")
    rows, _ = osqi_json("select * from certificates where path = '%s/"
                        "absent.pem'" % store)
    eq(rows, [], "missing file: no rows")


if __name__ == "__main__":
    osqtest.run_tests([test_against_openssl])
