# Adds lock entries for platform-only optional packages that this machine's npm registry mirror
# does not serve (npm then leaves them out of package-lock.json and `npm ci` refuses the lock).
# Use: (d=$(mktemp -d); cp package.json package-lock.json $d; cd $d; npm ci 2>&1) | python3 .ci/fix-lockfile.py
import json,re,sys
lock=json.load(open('package-lock.json'))
pk=lock['packages']
missing=[l.split('Missing: ')[-1].split('@ from')[0].strip() for l in sys.stdin if 'Missing: ' in l]
for name in missing:
    # find a parent that lists it as optional dependency
    for path,meta in pk.items():
        od=meta.get('optionalDependencies',{})
        if name in od:
            ver=od[name]
            key='node_modules/'+name
            if key not in pk:
                m=re.search(r'(android|darwin|freebsd|openbsd|openharmony|win32|linux)',name)
                c=re.search(r'(arm64|x64|ia32|arm|loong64|ppc64|riscv64|s390x)',name.split(m.group(1))[-1] if m else name)
                entry={'version':ver.lstrip('^~'),'optional':True}
                if meta.get('dev'): entry['dev']=True
                if m: entry['os']=[m.group(1)]
                if c: entry['cpu']=[c.group(1)]
                if 'musl' in name: entry['libc']=['musl']
                elif 'gnu' in name and m and m.group(1)=='linux': entry['libc']=['glibc']
                pk[key]=entry
            break
lock['packages']=dict(sorted(pk.items(), key=lambda kv: (kv[0]!='', kv[0])))
json.dump(lock,open('package-lock.json','w'),indent=2); open('package-lock.json','a').write('\n')
