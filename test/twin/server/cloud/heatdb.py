"""Logical paths of cloud resources, read from Heat's own database (sqlite, read-only, WAL): the
resource row whose physical id is the cloud id, its stack, and the stack's ancestors give
"<root stack>/<nested resource>/.../<member>/<resource>"; a row's `replaces` column links a replacement
to the resource it replaced. Rows disappear when Heat deletes a resource, so every delete request
remembers the path first (`remember`); the rest is resolved when the actions are read."""

import os
import sqlite3


class LogicalPaths(object):
    def __init__(self, cloud, db_path):
        self.cloud = cloud
        self.db_path = db_path
        self.known = {}  # physical id -> {"path", "rowId", "replaces"}
        self.rows = {}  # resource row id -> physical id
        self._stacks = {}

    def _connect(self):
        if not self.db_path or not os.path.exists(self.db_path):
            return None
        con = sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True, timeout=10)
        return con

    def _stack_path(self, con, stack_id):
        parts = []
        while stack_id:
            row = self._stacks.get(stack_id)
            if row is None:
                row = con.execute("SELECT name, owner_id, parent_resource_name FROM stack WHERE id = ?", (stack_id,)).fetchone()
                if row is None:
                    return None
                self._stacks[stack_id] = row
            name, owner, parent_resource = row
            parts.append(parent_resource if owner else name)
            stack_id = owner
        return "/".join(reversed(parts))

    def _lookup(self, con, physical_ids):
        ids = [p for p in physical_ids if p]
        found = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            q = "SELECT id, name, stack_id, nova_instance, replaces FROM resource WHERE nova_instance IN (%s) ORDER BY id" % (
                ",".join("?" * len(chunk)))
            for row_id, name, stack_id, physical, replaces in con.execute(q, chunk):
                base = self._stack_path(con, stack_id)
                if base is None:
                    continue
                found[physical] = {"path": base + "/" + name, "rowId": row_id, "replacesRow": replaces}
        for physical, info in found.items():
            self.rows[info["rowId"]] = physical
            prev = self.known.get(physical, {})
            self.known[physical] = dict(prev, **info)
        return found

    def remember(self, physical_id):
        """Resolve a resource's path now (it is about to be deleted)."""
        con = self._connect()
        if con is None:
            return
        try:
            found = self._lookup(con, [physical_id]).get(physical_id)
            if found:
                # a replacement's row names the row it replaces until the old resource is gone
                for (successor,) in con.execute("SELECT nova_instance FROM resource WHERE replaces = ? AND nova_instance "
                                                "IS NOT NULL", (found["rowId"],)):
                    self.known[physical_id]["replacedBy"] = successor
                    self.known.setdefault(successor, {})["replacedPhysical"] = physical_id
        except sqlite3.Error as ex:
            self.cloud.log("heatdb: %s" % ex)
        finally:
            con.close()

    def annotate(self, actions):
        missing = sorted({a.get("physicalId") for a in actions
                          if a.get("physicalId") and "path" not in self.known.get(a["physicalId"], {})})
        if missing:
            con = self._connect()
            if con is not None:
                try:
                    self._lookup(con, missing)
                    rows = [info["replacesRow"] for info in list(self.known.values())
                            if info.get("replacesRow") and info["replacesRow"] not in self.rows]
                    for row_id in rows:
                        r = con.execute("SELECT nova_instance FROM resource WHERE id = ?", (row_id,)).fetchone()
                        if r and r[0]:
                            self.rows[row_id] = r[0]
                except sqlite3.Error as ex:
                    self.cloud.log("heatdb: %s" % ex)
                finally:
                    con.close()
        out = []
        for a in actions:
            a = dict(a)
            info = self.known.get(a.get("physicalId"))
            a["path"] = info.get("path") if info else None
            if info:
                replaces = info.get("replacedPhysical") or (self.rows.get(info["replacesRow"]) if info.get("replacesRow") else None)
                if replaces:
                    a["replaces"] = replaces
                if info.get("replacedBy"):
                    a["replacedBy"] = info["replacedBy"]
            out.append(a)
        return out
