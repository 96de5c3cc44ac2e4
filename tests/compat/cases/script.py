# python3: json, hashlib (OpenSSL), sqlite3, ctypes (libffi closures), zlib,
# decimal, re, struct, mmap, multiprocessing-free subprocess, threads.
import ctypes, ctypes.util, decimal, hashlib, json, mmap, re, sqlite3, struct, subprocess, sys, threading, zlib

print(json.dumps({"b": [1, 2.5, None], "a": "é"}, sort_keys=True))
print("sha3:", hashlib.sha3_256(b"vmseal").hexdigest()[:32], "md5:", hashlib.md5(b"x").hexdigest())
db = sqlite3.connect(":memory:")
db.execute("create table t(k integer primary key, v text)")
db.executemany("insert into t(v) values (?)", [(c * 3,) for c in "abcde"])
print("sqlite:", db.execute("select group_concat(v, '|'), count(*) from t").fetchone())
libc = ctypes.CDLL(ctypes.util.find_library("c"))
CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))
arr = (ctypes.c_int * 6)(5, 1, 4, 2, 6, 3)
libc.qsort(arr, 6, ctypes.sizeof(ctypes.c_int), CMP(lambda a, b: a[0] - b[0]))
print("ctypes qsort:", list(arr))
data = b"sealed " * 1000
print("zlib:", len(zlib.compress(data, 9)), zlib.crc32(data))
decimal.getcontext().prec = 40
print("decimal:", decimal.Decimal(1) / decimal.Decimal(7))
print("re:", re.findall(r"(\w)(\d)", "a1 b2 c3"))
print("struct:", struct.pack("<IhQ", 1, -2, 3).hex())
with mmap.mmap(-1, 1 << 20) as m:
    m[0:5] = b"hello"
    m.move(100, 0, 5)
    print("mmap:", m[100:105])
out = subprocess.run(["sort", "-r"], input="a\nc\nb\n", capture_output=True, text=True)
print("subprocess:", out.stdout.split(), out.returncode)
results = [0] * 4
def work(i):
    results[i] = sum(j * j for j in range(20000 * (i + 1)))
threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
for t in threads: t.start()
for t in threads: t.join()
print("threads:", results)
print("python: stderr line", file=sys.stderr)
sys.exit(6)
