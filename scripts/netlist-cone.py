# attribute mapped SB_LUT4 / SB_CARRY cells to the register groups (names without bit index)
# they feed: a LUT whose forward cone reaches one group only counts for it; else "shared"
import json, sys, collections, re
d = json.load(open(sys.argv[1])); m = d['modules'][sys.argv[2] if len(sys.argv) > 2 else 'xnca_board_icebreaker']
names = {}
for n, net in m['netnames'].items():
    for i, b in enumerate(net['bits']):
        if isinstance(b, int) and (b not in names or len(n) < len(names[b])): names[b] = n
OUTP = {'O', 'CO', 'Q', 'RDATA', 'DATAOUT', 'O'}
cons = collections.defaultdict(list); cells = m['cells']
for cn, c in cells.items():
    for pn, bits in c['connections'].items():
        if pn in ('O', 'CO', 'Q', 'RDATA', 'DATAOUT') or pn.startswith('PLLOUT') or pn in ('LOCK',): continue
        if c['type'].startswith('SB_MAC16') and pn == 'O': continue
        for b in bits:
            if isinstance(b, int): cons[b].append((cn, pn))
def grp(cn, pn):
    c = cells[cn]; t = c['type']
    if t.startswith('SB_DFF'):
        q = c['connections']['Q'][0]; n = names.get(q, cn)
        return re.sub(r'\[\d+\]$', '', n).lstrip('\\')
    if t in ('SB_RAM40_4K', 'SB_SPRAM256KA', 'SB_MAC16'): return t + ':' + re.sub(r'\$.*', '', cn)[-40:] + '.' + re.sub(r'\d+$', '', pn)
    return None
memo = {}
def sinks(cn, stack=()):
    if cn in memo: return memo[cn]
    c = cells[cn]; res = set()
    outs = [b for pn in ('O', 'CO') for b in c['connections'].get(pn, []) if isinstance(b, int)]
    for b in outs:
        for (nc, pn) in cons[b]:
            g = grp(nc, pn)
            if g is not None: res.add(g)
            elif cells[nc]['type'] in ('SB_LUT4', 'SB_CARRY') and nc not in stack:
                res |= sinks(nc, stack + (cn,))
        if not cons[b]: res.add('(out)')
    memo[cn] = frozenset(res); return memo[cn]
sys.setrecursionlimit(100000)
lut = collections.Counter(); car = collections.Counter(); shared = collections.Counter()
for cn, c in cells.items():
    if c['type'] not in ('SB_LUT4', 'SB_CARRY'): continue
    s = sinks(cn)
    key = next(iter(s)) if len(s) == 1 else ('shared:' + ','.join(sorted(s))[:90] if len(s) <= 3 else 'shared(%d)' % len(s))
    (lut if c['type'] == 'SB_LUT4' else car)[key] += 1
tot = collections.Counter(); tot.update(lut); tot.update(car)
print('LUT4', sum(lut.values()), 'CARRY', sum(car.values()))
for k, v in tot.most_common(int(sys.argv[3]) if len(sys.argv) > 3 else 80):
    print('%5d %5d  %s' % (lut[k], car[k], k))
