#!/usr/bin/env python3
"""Score Test::Nginx logs (prove -v) per block: a block passes when it has assertions and none of
them failed (a skipped block does not pass). For every file whose two runs completed, count the
blocks that pass on the reference and, of those, the ones that pass on ngxlua.

  score.py LOGS_DIR OUT_PREFIX      (LOGS_DIR/ref/*.t.log, LOGS_DIR/ours/*.t.log)

Writes OUT_PREFIX.tsv (file, blocks seen, ref-passing, of those ours-passing, percent; TOTAL
last) and OUT_PREFIX-fails.txt (the blocks that pass on the reference only), and prints the
table."""
import os
import re
import sys

ASSERT = re.compile(r'^(not ok|ok) \d+ (?:- )?(?:\S+\.t )?TEST (\d+): ')


def blocks(path):
    res = {}
    with open(path, encoding='latin1') as f:
        for line in f:
            m = ASSERT.match(line)
            if not m:
                continue
            n = int(m.group(2))
            if '# skip' in line.lower():
                res[n] = None
            elif res.get(n, True) is not None:
                res[n] = res.get(n, True) and m.group(1) == 'ok'
    return res


def complete(path):
    with open(path, encoding='latin1') as f:
        return 'Result: ' in f.read()[-4000:]


def main():
    logs, out = sys.argv[1], sys.argv[2]
    rows, fails = [], []
    tot_ref = tot_both = 0
    names = []
    for dirpath, _dirs, files in os.walk(os.path.join(logs, 'ref')):
        rel = os.path.relpath(dirpath, os.path.join(logs, 'ref'))
        names += [f if rel == '.' else os.path.join(rel, f) for f in files]
    for name in sorted(names):
        ref, ours = os.path.join(logs, 'ref', name), os.path.join(logs, 'ours', name)
        if not name.endswith('.t.log') or not os.path.exists(ours) or not complete(ref) or not complete(ours):
            continue
        r, o = blocks(ref), blocks(ours)
        passing = [n for n, ok in r.items() if ok]
        both = [n for n in passing if o.get(n)]
        tot_ref += len(passing)
        tot_both += len(both)
        pct = 100 * len(both) / len(passing) if passing else 100.0
        rows.append(f'{name[:-4]}\t{len(r)}\t{len(passing)}\t{len(both)}\t{pct:.1f}')
        missed = [n for n in passing if not o.get(n)]
        if missed:
            fails.append(f'{name[:-4]}\t' + ' '.join(map(str, sorted(missed))))
    pct = 100 * tot_both / tot_ref if tot_ref else 0.0
    rows.append(f'TOTAL\t-\t{tot_ref}\t{tot_both}\t{pct:.1f}')
    with open(out + '.tsv', 'w') as f:
        f.write('file\tblocks\tref_pass\tours_pass\tpercent\n' + '\n'.join(rows) + '\n')
    with open(out + '-fails.txt', 'w') as f:
        f.write('\n'.join(fails) + '\n')
    print('\n'.join(rows))


main()
