#!/usr/bin/env python3
"""Count the public items a user of the `autoencoder` library can reach.

Build the rustdoc JSON first (nightly), then run this script:

    cargo +nightly rustdoc -p autoencoder --lib -- -Z unstable-options \
        --output-format json --document-hidden-items
    python3 bench/public_items.py [-v] [target/doc/autoencoder.json]

The walk starts at the crate root and follows every public item of every public
module that is not `#[doc(hidden)]` (private items are not in the JSON; hidden ones are,
with `--document-hidden-items`, and are skipped here), and every `pub use` (a re-export
of a single item counts that item, a re-export of a module walks it, a glob walks its
target). So an item defined in a hidden or private module counts when a visible
re-export reaches it (`autoencoder::Threads`), and not otherwise. Each item is counted
once, however many paths reach it.

Without `--document-hidden-items` rustdoc drops hidden items from the JSON even when a
visible `#[doc(inline)] pub use` re-exports them; the script then warns and undercounts.

Counted, by kind:
- module: every reachable public module but the crate root;
- struct, enum, trait, type alias, constant, static, function (free functions);
- variant: every variant of a reachable enum;
- field: every `pub` field of a reachable struct (named or tuple), not enum variants' fields;
- method: every public associated function of an inherent `impl` of a reachable
  struct or enum (trait impls, derived and blanket impls are not counted);
- assoc const / assoc type: public associated constants and types of inherent impls;
- trait item: every item declared in a reachable trait (methods, constants, types).

`total` is the sum of all of these; the last line leaves out fields, variants and
trait items (the named things with a path of their own plus inherent methods).
`-v` lists every counted path; `--count-hidden` counts `#[doc(hidden)]` items as if they
were visible (what the same tree would count without its hidden modules).
"""

import json
import sys
from collections import Counter


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    path = args[0] if args else "target/doc/autoencoder.json"
    with open(path) as f:
        doc = json.load(f)
    index = doc["index"]

    def item(i):
        return index.get(str(i))

    def kind(it):
        return next(iter(it["inner"]))

    counted = set()
    counts = Counter()
    names = {}
    walked = set()

    def hidden(it):
        if "--count-hidden" in sys.argv:
            return False
        return any("doc(hidden)" in (a if isinstance(a, str) else json.dumps(a)) for a in it.get("attrs", []))

    missing = []

    def add(i, label, name):
        it = item(i)
        if it is not None and hidden(it):
            return
        key = (label, i)
        if key in counted:
            return
        counted.add(key)
        counts[label] += 1
        names.setdefault(label, []).append(name)

    def visit(i, prefix):
        it = item(i)
        if it is None:
            return  # an item of another crate
        if hidden(it):
            return
        k = kind(it)
        inner = it["inner"][k]
        name = f"{prefix}::{it['name']}" if it.get("name") else prefix
        if k == "use":
            target = inner.get("id")
            if target is None:
                return
            t = item(target)
            if t is None:
                p = doc["paths"].get(str(target))
                if p is None or p.get("crate_id") == 0:
                    missing.append(f"{prefix}::{inner['name']}")
                return
            if inner.get("is_glob") or kind(t) == "module":
                if inner.get("is_glob"):
                    walk_module(target, prefix)
                else:
                    add(target, "module", f"{prefix}::{inner['name']}")
                    walk_module(target, f"{prefix}::{inner['name']}")
            else:
                visit(target, prefix)
            return
        if it["visibility"] != "public":
            return
        if k == "module":
            add(i, "module", name)
            walk_module(i, name)
        elif k == "struct":
            add(i, "struct", name)
            sk = inner["kind"]
            fields = []
            if isinstance(sk, dict) and "plain" in sk:
                fields = sk["plain"]["fields"]
            elif isinstance(sk, dict) and "tuple" in sk:
                fields = [x for x in sk["tuple"] if x is not None]
            for fid in fields:
                f = item(fid)
                if f is not None and f["visibility"] == "public":
                    add(fid, "field", f"{name}.{f['name']}")
            impls(inner["impls"], name)
        elif k == "enum":
            add(i, "enum", name)
            for vid in inner["variants"]:
                v = item(vid)
                if v is not None:
                    add(vid, "variant", f"{name}::{v['name']}")
            impls(inner["impls"], name)
        elif k == "union":
            add(i, "union", name)
            impls(inner["impls"], name)
        elif k == "trait":
            add(i, "trait", name)
            for tid in inner["items"]:
                t = item(tid)
                if t is not None:
                    add(tid, "trait item", f"{name}::{t['name']}")
        elif k == "function":
            add(i, "function", name)
        elif k == "constant":
            add(i, "constant", name)
        elif k == "static":
            add(i, "static", name)
        elif k == "type_alias":
            add(i, "type alias", name)
        elif k == "macro":
            add(i, "macro", name)
        else:
            add(i, k, name)

    def impls(ids, owner):
        for iid in ids:
            im = item(iid)
            if im is None:
                continue
            inner = im["inner"]["impl"]
            if inner["trait"] is not None or inner.get("is_synthetic") or inner.get("blanket_impl"):
                continue
            for mid in inner["items"]:
                m = item(mid)
                if m is None or m["visibility"] != "public" or hidden(m):
                    continue
                mk = kind(m)
                label = {"function": "method", "assoc_const": "assoc const",
                         "assoc_type": "assoc type"}.get(mk, mk)
                add(mid, label, f"{owner}::{m['name']}")

    def walk_module(i, name):
        if i in walked:
            return
        walked.add(i)
        m = item(i)
        for cid in m["inner"]["module"]["items"]:
            visit(cid, name)

    root = doc["root"]
    walk_module(root, "autoencoder")

    if missing:
        print(f"warning: {len(missing)} re-exports point at items missing from the JSON "
              f"(hidden? build with --document-hidden-items): {', '.join(missing)}", file=sys.stderr)
    verbose = "-v" in sys.argv
    for label in sorted(counts):
        print(f"{label:12} {counts[label]:5}")
        if verbose:
            for n in sorted(names[label]):
                print(f"    {n}")
    shallow = sum(counts.values()) - counts["field"] - counts["variant"] - counts["trait item"]
    print(f"{'total':12} {sum(counts.values()):5}")
    print(f"{'w/o fields, variants, trait items':12} {shallow:5}")


if __name__ == "__main__":
    main()
