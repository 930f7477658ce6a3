"""Runs cloud-init's own code for the tests (call with Debian's /usr/bin/python3).

  split        user-data on stdin -> JSON list of parts, split exactly as cloud-init's
               UserDataProcessor does at boot (MIME multipart, #include, gzip, ...).
  schema-keys  -> JSON list of every top-level key cloud-init's schema knows.
  write-files  cloud-config (YAML) on stdin -> runs cloud-init's write_files module code
               (cc_write_files.write_files) on this machine's filesystem as it would at boot.
"""
import json
import sys
import tempfile


def split():
    from cloudinit import helpers, user_data

    blob = sys.stdin.buffer.read()
    with tempfile.TemporaryDirectory() as tmp:
        paths = helpers.Paths({"cloud_dir": tmp, "run_dir": tmp})
        msg = user_data.UserDataProcessor(paths).process(blob)
    parts = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        parts.append(
            {
                "contentType": part.get_content_type(),
                "filename": part.get_filename(),
                "content": payload.decode("utf-8") if payload is not None else "",
            }
        )
    json.dump(parts, sys.stdout)


def schema_keys():
    from cloudinit.config.schema import get_schema

    # Top-level keys: the schema's own properties plus those of every module definition it
    # includes through allOf (not the nested definitions such as a user's fields).
    schema = get_schema()
    keys = set(schema.get("properties", {}).keys())
    defs = schema.get("$defs", {})
    for entry in schema.get("allOf", []):
        ref = entry.get("$ref", "")
        if ref.startswith("#/$defs/"):
            keys.update(defs[ref[len("#/$defs/"):]].get("properties", {}).keys())
        keys.update(entry.get("properties", {}).keys())
    if len(keys) < 50:
        raise SystemExit("cloud-init schema lists only %d top-level keys; cannot check unknown keys" % len(keys))
    json.dump(sorted(keys), sys.stdout)


def write_files():
    import yaml
    from cloudinit.config import cc_write_files

    cfg = yaml.safe_load(sys.stdin.read()) or {}
    files = [f for f in cfg.get("write_files", []) if not f.get("defer", False)]
    cc_write_files.write_files("write_files", files, "root:root")
    json.dump([f["path"] for f in files], sys.stdout)


if __name__ == "__main__":
    {"split": split, "schema-keys": schema_keys, "write-files": write_files}[sys.argv[1]]()
