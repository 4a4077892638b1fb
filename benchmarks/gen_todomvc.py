#!/usr/bin/env python3
"""Deterministic TodoMVC data set for the lstore benchmarks (Python 3 stdlib only).

Writes two files for the same N events:

  <out>/events.ndjson.gz  an lstore export (format version 1, gzip): header line, commit
                          lines, event lines, end line with the CRC-32 the importer checks
                          (see Sources/LStoreKit/Interchange/Exporter.swift).
  <out>/reference.sql     the same row changes as literal SQL statements in one
                          BEGIN…COMMIT, for the sqlite3 CLI reference.

The mix follows what people do in LiveStore's TodoMVC: create todos, complete and
uncomplete some, delete some (soft delete, ISO date stored as epoch ms), now and then
clear the completed ones, and type into the "new todo" field or switch the filter, which
are client-only uiStateSet events. Events come from a few clients (one session each),
in commits of a few events; about one event run in ten arrives without a commit, as
events pulled from apps do.

Numbering follows LiveStore: a synced event after (g, c) is (g+1, 0) with parent (g, 0);
a client-only event after (g, c) is (g, c+1) with parent (g, c).

With --mix half the events are half v1.TodoCreated, half v1.TodoCompleted (each completes a
random open todo), the workload of issue 10's bars; the set then also holds

  <out>/commit.ndjson     the same events as `lstore commit --file` input ({"name","args"}
                          per line), committed by one client and session.

Usage: gen_todomvc.py N OUT_DIR SCHEMA_HASHES_JSON [--store-id ID] [--seed S] [--mix todomvc|half]
SCHEMA_HASHES_JSON maps event names to their schemaHash (read from a state database's
__livestore_schema_event_defs by run.sh), so the events carry the hashes lstore writes.
"""

import argparse
import gzip
import hashlib
import json
import os
import random
import zlib

BASE_MS = 1_735_689_600_000  # 2025-01-01T00:00:00.000Z


def iso(ms):
    """Date.prototype.toISOString for a non-negative epoch ms."""
    days, rest = divmod(ms, 86_400_000)
    # civil from days (Howard Hinnant)
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y = yoe + era * 400 + (1 if m <= 2 else 0)
    h, rest = divmod(rest, 3_600_000)
    mi, rest = divmod(rest, 60_000)
    s, milli = divmod(rest, 1000)
    return f"{y:04d}-{m:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}.{milli:03d}Z"


def js(s):
    """JSON.stringify of a string (the generator only produces ASCII text)."""
    return json.dumps(s, ensure_ascii=False)


def sql_text(s):
    return "'" + s.replace("'", "''") + "'"


WORDS = ("buy milk call mom write report fix bug review pull request water plants book flights "
         "pay rent clean kitchen walk dog read paper plan sprint reply email order pizza "
         "update docs ship release renew passport backup laptop").split()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("hashes")
    ap.add_argument("--store-id", default="bench-todos")
    ap.add_argument("--seed", type=int, default=20250101)
    ap.add_argument("--mix", choices=("todomvc", "half"), default="todomvc")
    a = ap.parse_args()
    half = a.mix == "half"

    hashes = json.loads(open(a.hashes).read())
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)

    clients = [(f"client{i}", f"sess{i}") for i in range(1 if half else 4)]
    commit_file = open(os.path.join(a.out, "commit.ndjson"), "w") if half else None
    open_todos = []  # half mix: created, not yet completed
    # uiState per session (the client document, id = session id), as stored.
    ui = {sess: {"newTodoText": "", "filter": "all"} for _, sess in clients}
    typing = {sess: "" for _, sess in clients}

    live = []        # ids of todos not deleted
    live_index = {}  # id -> index in live
    completed = set()
    next_todo = 0

    g, c = 0, 0        # head
    ms = BASE_MS
    events_out = []    # lines for the current chunk
    sql_out = []
    n_events = 0
    n_commits = 0
    stats = {}
    clear_rows = 0
    # Rows (completed todos) a clear touches; tracks UPDATE … WHERE completed = 1.
    completed_rows_total = set()  # every todo with completed = 1, deleted or not

    sql_file = open(os.path.join(a.out, "reference.sql.tmp"), "w")
    sql_file.write("BEGIN;\n")
    header_tmp = os.path.join(a.out, "events.body.tmp")
    body = open(header_tmp, "wb")
    crc_body = 0

    def write_line(line):
        nonlocal crc_body
        b = (line + "\n").encode()
        crc_body = zlib.crc32(b, crc_body)
        body.write(b)

    def pick_live():
        return live[rng.randrange(len(live))]

    def remove_live(tid):
        i = live_index.pop(tid)
        last = live.pop()
        if i < len(live):
            live[i] = last
            live_index[last] = i

    def choose_half():
        """Half mix: a new todo, then completing a random open one, alternately."""
        nonlocal next_todo
        if n_events_half[0] % 2 == 0 or not open_todos:
            tid = f"todo-{next_todo:07d}"
            next_todo += 1
            text = rng.choice(WORDS) + " " + rng.choice(WORDS)
            open_todos.append(tid)
            args = '{"id":%s,"text":%s}' % (js(tid), js(text))
            sql = "INSERT INTO todos (id, text, completed) VALUES (%s, %s, 0);" % (sql_text(tid), sql_text(text))
            return "v1.TodoCreated", args, sql, False
        i = rng.randrange(len(open_todos))
        tid = open_todos[i]
        open_todos[i] = open_todos[-1]
        open_todos.pop()
        return ("v1.TodoCompleted", '{"id":%s}' % js(tid),
                "UPDATE todos SET completed = 1 WHERE id = %s;" % sql_text(tid), False)

    n_events_half = [0]

    def choose_event(sess):
        """One event as (name, args JSON, SQL statement, clientOnly)."""
        nonlocal next_todo, clear_rows
        if half:
            event = choose_half()
            n_events_half[0] += 1
            if commit_file:
                commit_file.write('{"name":%s,"args":%s}\n' % (js(event[0]), event[1]))
            return event
        r = rng.random()
        # Weights: created 26 %, completed 16 %, uncompleted 4 %, deleted 9 %,
        # cleared completed 0.001 %, uiStateSet 45 % (typing and filter changes).
        if r < 0.45:
            if rng.random() < 0.9:
                # Typing into the new-todo field: one set per keystroke-ish burst.
                t = typing[sess]
                t = (t + " " + rng.choice(WORDS)) if t and len(t) < 40 else rng.choice(WORDS)
                typing[sess] = t
                key, val = "newTodoText", t
            else:
                key, val = "filter", rng.choice(("all", "active", "completed"))
            ui[sess][key] = val
            args = '{"id":%s,"value":{%s:%s}}' % (js(sess), js(key), js(val))
            merged = {"newTodoText": "", "filter": "all"}
            merged[key] = val
            merged_text = '{"newTodoText":%s,"filter":%s}' % (js(merged["newTodoText"]), js(merged["filter"]))
            sql = ("INSERT INTO 'uiState' (id, value) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE SET value = "
                   "json_set(value, %s, json(%s));" % (sql_text(sess), sql_text(merged_text),
                                                       sql_text("$." + key), sql_text(js(val))))
            return "uiStateSet", args, sql, True
        r = rng.random()
        if not live or r < 0.47:
            tid = f"todo-{next_todo:07d}"
            next_todo += 1
            text = typing[sess] or rng.choice(WORDS)
            typing[sess] = ""
            live_index[tid] = len(live)
            live.append(tid)
            args = '{"id":%s,"text":%s}' % (js(tid), js(text))
            sql = "INSERT INTO todos (id, text, completed) VALUES (%s, %s, 0);" % (sql_text(tid), sql_text(text))
            return "v1.TodoCreated", args, sql, False
        if r < 0.76:
            tid = pick_live()
            completed.add(tid)
            completed_rows_total.add(tid)
            return ("v1.TodoCompleted", '{"id":%s}' % js(tid),
                    "UPDATE todos SET completed = 1 WHERE id = %s;" % sql_text(tid), False)
        if r < 0.83:
            tid = pick_live()
            completed.discard(tid)
            completed_rows_total.discard(tid)
            return ("v1.TodoUncompleted", '{"id":%s}' % js(tid),
                    "UPDATE todos SET completed = 0 WHERE id = %s;" % sql_text(tid), False)
        if r < 0.99998:
            tid = pick_live()
            remove_live(tid)
            completed.discard(tid)
            return ("v1.TodoDeleted", '{"id":%s,"deletedAt":%s}' % (js(tid), js(iso(ms))),
                    "UPDATE todos SET deletedAt = %d WHERE id = %s;" % (ms, sql_text(tid)), False)
        # Clear completed: soft-deletes every completed todo (TodoMVC's materializer does
        # not skip already-deleted rows, so the same rows are updated again each time).
        clear_rows += len(completed_rows_total)
        for tid in list(completed):
            remove_live(tid)
        completed.clear()
        return ("v1.TodoClearedCompleted", '{"deletedAt":%s}' % js(iso(ms)),
                "UPDATE todos SET deletedAt = %d WHERE completed = 1;" % ms, False)

    while n_events < a.n:
        client, sess = clients[rng.randrange(len(clients))]
        size = min(rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 6, 8)), a.n - n_events)
        with_commit = rng.random() < 0.9
        batch = []
        for _ in range(size):
            name, args, sql, client_only = choose_event(sess)
            if client_only:
                seq, parent = (g, c + 1), (g, c)
            else:
                seq, parent = (g + 1, 0), (g, 0)
            g, c = seq
            ms += rng.randrange(200, 30_000)
            batch.append((seq, parent, name, args))
            sql_out.append(sql)
            stats[name] = stats.get(name, 0) + 1
        n_events += len(batch)

        def fmt(s):
            return f"e{s[0]}" if s[1] == 0 else f"e{s[0]}+{s[1]}"

        if with_commit:
            n_commits += 1
            cid = hashlib.sha1(f"{a.seed}:{n_commits}".encode()).hexdigest()[:16]
            msg = f"{batch[0][2].split('.')[-1]} and {len(batch) - 1} more" if len(batch) > 1 else batch[0][2].split('.')[-1]
            write_line('{"commit":{"id":"%s","first":"%s","last":"%s","message":%s,"author":{"name":%s,"email":%s},"time":%s}}'
                       % (cid, fmt(batch[0][0]), fmt(batch[-1][0]), js(msg), js("Bench " + client),
                          js(client + "@example.com"), js(iso(ms))))
        for seq, parent, name, args in batch:
            write_line('{"seqNum":"%s","parentSeqNum":"%s","name":%s,"args":%s,"clientId":%s,"sessionId":%s,"schemaHash":%d,"syncMetadata":{"_tag":"None"}}'
                       % (fmt(seq), fmt(parent), js(name), args, js(client), js(sess), hashes[name]))
        if len(sql_out) >= 20000:
            sql_file.write("\n".join(sql_out))
            sql_file.write("\n")
            sql_out.clear()
    body.close()
    if commit_file:
        commit_file.close()
    sql_file.write("\n".join(sql_out))
    sql_file.write("\nCOMMIT;\n")
    sql_file.close()
    os.replace(os.path.join(a.out, "reference.sql.tmp"), os.path.join(a.out, "reference.sql"))

    head = f"e{g}" if c == 0 else f"e{g}+{c}"
    # backendHead: the store was synced up to its last synced event, so a clone that
    # imports the file (same storeId) has nothing pending but the trailing client-only events.
    header_fields = ('"lstore":"export","version":1,"storeId":%s,"firstParent":"e0","head":"%s","events":%d,'
                     '"commits":%d,"backendHead":%d' % (js(a.store_id), head, n_events, n_commits, g))
    header_crc_part = "{" + header_fields + "}\n"
    header = "{" + header_fields + ',"exportedAt":%s}\n' % js(iso(BASE_MS))
    crc = zlib.crc32(header_crc_part.encode())
    # crc32 of (header part + body) from the two parts: recompute by streaming the body.
    with open(header_tmp, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            crc = zlib.crc32(chunk, crc)
    end = '{"end":{"events":%d,"commits":%d,"crc32":"%08x"}}\n' % (n_events, n_commits, crc)
    with gzip.open(os.path.join(a.out, "events.ndjson.gz.tmp"), "wb", compresslevel=6) as out:
        out.write(header.encode())
        with open(header_tmp, "rb") as f:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                out.write(chunk)
        out.write(end.encode())
    os.remove(header_tmp)
    os.replace(os.path.join(a.out, "events.ndjson.gz.tmp"), os.path.join(a.out, "events.ndjson.gz"))

    info = {"events": n_events, "commits": n_commits, "head": head, "todos": next_todo,
            "clearCompletedRowUpdates": clear_rows, "mix": stats}
    with open(os.path.join(a.out, "dataset.json"), "w") as f:
        json.dump(info, f, indent=1, sort_keys=True)
    print(json.dumps(info, sort_keys=True))



if __name__ == "__main__":
    main()
