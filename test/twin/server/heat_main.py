#!/usr/bin/python3
"""Runs Heat's own all-in-one server (heat.cmd.all: heat-api and heat-engine in one process, as
greenthreads) with the twin's configuration file. RPC between them uses oslo.messaging's in-memory
``fake://`` transport, so no broker is needed. Nothing of Heat is patched: the fake cloud is
reached over HTTP through Heat's real client plugins and the real OpenStack client libraries.

Usage: heat_main.py db-sync CONFIG_FILE   (creates Heat's schema, as `heat-manage db_sync`)
       heat_main.py serve CONFIG_FILE
"""

import re
import sqlite3
import sys


def db_sync(conf_file):
    """Create Heat's schema, make its integer ids never reused (see ``never_reuse_ids``) and switch
    the sqlite file to WAL, so the cloud's read-only look-ups never block the engine's writes."""
    from oslo_config import cfg
    from heat.common import config  # noqa: F401  (registers Heat's options)
    from heat.db.sqlalchemy import api as db_api

    cfg.CONF(["--config-file", conf_file], project="heat", prog="heat-manage")
    path = cfg.CONF.database.connection.split("sqlite:///", 1)[1]
    db_api.db_sync(db_api.get_engine())
    con = sqlite3.connect(path)
    never_reuse_ids(con)
    con.execute("PRAGMA journal_mode=WAL")  # persistent: stays with the file and its copies
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


# A table whose key is one integer column `id`, as SQLAlchemy writes it for sqlite.
ID_COLUMN = re.compile(r"^([ \t]*)id INTEGER NOT NULL,[ ]*$", re.M)
ID_KEY = re.compile(r",\s*PRIMARY KEY \(id\)")


def never_reuse_ids(con):
    """Give every table keyed by an integer `id` sqlite's AUTOINCREMENT, as the databases Heat runs
    on in a cloud behave (MySQL/MariaDB AUTO_INCREMENT, PostgreSQL sequences): an id once used is
    never handed out again. Plain sqlite hands the largest id out again after its row was deleted,
    and Heat can delete a resource's attribute cache row twice by the id it loaded
    (Resource.clear_stored_attributes; seen in one update of a compact worker group, both deletes in
    the same request): on MySQL the second delete finds nothing, on plain sqlite it deleted the row
    given the same id in between, another member's ResourcePropertiesData, and the update then
    failed with "ResourcePropertiesData with id 83 not found". The schema is still empty here, so
    each table is dropped and created again."""
    con.execute("PRAGMA foreign_keys=OFF")
    tables = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    changed = []
    for name, sql in tables:
        if not sql or not ID_COLUMN.search(sql) or not ID_KEY.search(sql):
            continue
        new_sql = ID_COLUMN.sub(r"\1id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,", sql, count=1)
        new_sql = ID_KEY.sub("", new_sql, count=1)
        (rows,) = con.execute('SELECT count(*) FROM "%s"' % name).fetchone()
        if rows:
            raise SystemExit("db-sync: table %s is not empty; cannot recreate it" % name)
        indexes = [r[0] for r in con.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (name,))]
        con.execute('DROP TABLE "%s"' % name)
        con.execute(new_sql)
        for index in indexes:
            con.execute(index)
        changed.append(name)
    con.commit()
    # Heat's resources, their properties and events are among them: if SQLAlchemy ever writes the schema otherwise,
    # stop here rather than run the twin with ids reused
    missing = sorted({"resource", "resource_properties_data", "event"} - set(changed))
    if missing:
        raise SystemExit("db-sync: no AUTOINCREMENT for %s (changed: %s)" % (", ".join(missing), ", ".join(changed)))


def serve(conf_file):
    # heat.cmd.all monkey-patches with eventlet when imported: nothing before it creates threads.
    from heat.cmd import all as heat_all

    sys.argv = ["heat-all", "--config-file", conf_file]
    heat_all.main()


def main():
    command, conf_file = sys.argv[1], sys.argv[2]
    {"db-sync": db_sync, "serve": serve}[command](conf_file)


if __name__ == "__main__":
    main()
