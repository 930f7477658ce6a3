#!/usr/bin/python3
"""Runs Heat's own all-in-one server (heat.cmd.all: heat-api and heat-engine in one process, as
greenthreads) with the twin's configuration file. RPC between them uses oslo.messaging's in-memory
``fake://`` transport, so no broker is needed. Nothing of Heat is patched: the fake cloud is
reached over HTTP through Heat's real client plugins and the real OpenStack client libraries.

Usage: heat_main.py db-sync CONFIG_FILE   (creates Heat's schema, as `heat-manage db_sync`)
       heat_main.py serve CONFIG_FILE
"""

import sqlite3
import sys


def db_sync(conf_file):
    """Create Heat's schema and switch the sqlite file to WAL, so the cloud's read-only look-ups
    never block the engine's writes."""
    from oslo_config import cfg
    from heat.common import config  # noqa: F401  (registers Heat's options)
    from heat.db.sqlalchemy import api as db_api

    cfg.CONF(["--config-file", conf_file], project="heat", prog="heat-manage")
    path = cfg.CONF.database.connection.split("sqlite:///", 1)[1]
    db_api.db_sync(db_api.get_engine())
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")  # persistent: stays with the file and its copies
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


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
