"""Write fuzz/seeds.txt: the fuzzer's starting corpus, one frame per line.

Run from the repository with shared/ beside it: ``python fuzz/make_seeds.py``. The output is
committed, so `make fuzz` needs neither Python nor the captures.
"""
import gzip
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared" / "kalshi"

HANDMADE = [
    '{"msg":{"side":"no","delta_fp":-1,"price_dollars":0.5,"market_ticker":"A\\u00e9\\ud83d\\ude00"},'
    '"seq":"3","sid":"1","type":"orderbook_\\u0064elta"}',
    '{"type":"orderbook_delta","sid":1,"seq":4,"msg":{"market_ticker":"M","price_dollars":"0.96",'
    '"delta_fp":"+5","side":"yes","client_order_id":"c\\"1","subaccount":3,"ts_ms":1,"x":{"y":[1,2,{"z":null}]}}}',
    '{"type":"orderbook_snapshot","sid":1,"seq":5,"id":127,"msg":{"market_ticker":"M","yes_dollars_fp":[],'
    '"no_dollars_fp":[[0.01,"1"],["1.0000",2.5]]}}',
    '{ "type" : "ok" , "id" : 3 , "msg" : [ { "channel" : "orderbook_delta" , "sid" : 1 } ] }',
]


def main():
    lines = []
    for line in (SHARED / "examples" / "ws-examples.jsonl").read_text().splitlines():
        message = json.loads(line)["message"]
        if "cmd" not in message:
            lines.append(json.dumps(message, separators=(",", ":")))
            lines.append(json.dumps(message))
    for path in sorted((SHARED / "captures" / "events").glob("*.ndjson.gz")):
        with gzip.open(path, "rt") as fh:
            events = [json.loads(x)["event"] for x in fh]
        picked = [e for e in events if e["type"] == "orderbook_snapshot"]
        picked += [e for e in events if e["type"] == "orderbook_delta"][:15]
        picked += [e for e in events if e["type"] == "trade"][:3]
        lines += [json.dumps(e, separators=(",", ":")) for e in picked]
    lines += HANDMADE
    (ROOT / "fuzz" / "seeds.txt").write_text("\n".join(lines) + "\n")
    print(f"{len(lines)} seeds")


if __name__ == "__main__":
    main()
