"""The REST client's write parts alone: the presigner, the order writes, the cancels, the armer,
the budget's upkeep.

The presigner's pool and the bodies are checked without a server; the writes run against the
embedded sim on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from centbook.auth import Credentials, signing_message
from centbook.rest.armed import Armer, amend_body, amend_template
from centbook.rest.budget import Limits, RateBudget
from centbook.rest.cancels import Cancels
from centbook.rest.orders import Orders
from centbook.rest.outcome import Resolver
from centbook.rest.presign import ORDERS_BATCH_PATH, ORDERS_PATH, Presigner
from centbook.rest.reads import Reads
from centbook.rest.transport import Transport, encode_json
from centbook.rest.upkeep import BudgetUpkeep
from centbook.sim import run_sim

PREFIX = "/trade-api/v2"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption())
KEY_ID = "00000000-0000-0000-0000-000000000000"
T = "KXDEMO-26DEC31-T50"  # linear cent, shard 0
T_CENTI = "KXBTCD-26DEC3117-T100000"  # centi cent, shard 2


def _stats() -> dict[str, int]:
    return dict.fromkeys(("requests", "rate_limited", "unknown", "resolved", "retried_reads",
                          "presign_batches", "presign_signatures"), 0)


def _presigner(credentials: Credentials | None, presign: bool = True, orders: int = 2,
               order_paths: tuple[str, ...] = ("cancel", "amend")) -> Presigner:
    return Presigner(credentials, PREFIX, _stats(), presign=presign, max_age_s=5.0, depth=3, orders=orders,
                     order_paths=order_paths, signer="inline")


def _verifies(headers: dict[str, str], method: str, path: str) -> bool:
    ts = int(headers["KALSHI-ACCESS-TIMESTAMP"])
    KEY.public_key().verify(base64.b64decode(headers["KALSHI-ACCESS-SIGNATURE"]),
                            signing_message(ts, method, path),
                            padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                        salt_length=padding.PSS.DIGEST_LENGTH), hashes.SHA256())
    return headers["KALSHI-ACCESS-KEY"] == KEY_ID


# -- presigner --------------------------------------------------------------------------------------
def test_presigner_signs_inline_then_from_the_pool_it_fills() -> None:
    async def body() -> None:
        p = _presigner(Credentials(KEY_ID, PEM))
        create = PREFIX + ORDERS_PATH
        assert p.targets() == [("POST", create), ("POST", PREFIX + ORDERS_BATCH_PATH),
                               ("DELETE", PREFIX + ORDERS_BATCH_PATH)]
        headers = p.auth_headers("GET", PREFIX + "/portfolio/balance")  # nothing pre-made: inline
        assert list(headers) == ["KALSHI-ACCESS-KEY", "KALSHI-ACCESS-TIMESTAMP", "KALSHI-ACCESS-SIGNATURE"]
        assert _verifies(headers, "GET", PREFIX + "/portfolio/balance")
        first = p.tasks()[1]  # the miss started a refill of the targets
        assert first is not None
        await first
        assert p.pool.count("POST", create) == 3 and p.stats["presign_signatures"] == 5
        hits = p.pool.hits
        made = p.auth_headers("POST", create)
        assert p.pool.hits == hits + 1 and _verifies(made, "POST", create)
        assert p.pool.count("POST", create) == 2 and p.tasks()[1] is first  # above half: no refill
        assert p.take("POST", create, refill=False) is not None and p.tasks()[1] is first
        p.refill_if_low("POST", create)  # one of three left: a refill starts
        again = p.tasks()[1]
        assert again is not None and again is not first
        await again
        assert p.pool.count("POST", create) == 3 and p.stats["presign_batches"] == 2

    asyncio.run(body())


def test_presigner_tracks_recent_orders_and_forgets_them() -> None:
    async def body() -> None:
        p = _presigner(Credentials(KEY_ID, PEM), orders=2)
        base = PREFIX + ORDERS_PATH
        assert p.paths_of("o1") == [("DELETE", f"{base}/o1"), ("POST", f"{base}/o1/amend")]
        for oid in ("o1", "o2"):
            p.track(oid)
        await asyncio.sleep(0)
        fill = p.tasks()[1]
        assert fill is not None
        await fill
        assert p.pool.count("DELETE", f"{base}/o1") == 1 and p.pool.count("POST", f"{base}/o2/amend") == 1
        p.track("o3")  # one too many: the oldest makes room, its signatures go
        assert p.recent == ["o2", "o3"] and p.pool.count("DELETE", f"{base}/o1") == 0
        p.forget("o2")
        assert p.recent == ["o3"] and p.pool.count("POST", f"{base}/o2/amend") == 0
        p.forget("o2")  # twice is harmless
        assert ("DELETE", f"{base}/o3") in p.targets()

    asyncio.run(body())


def test_presigner_without_presigning_tracks_nothing() -> None:
    off = _presigner(Credentials(KEY_ID, PEM), presign=False)
    off.track("o1")
    assert off.recent == [] and off.signer is not None and off.signer.mode == "inline"
    assert _presigner(None).presign is False and _presigner(None).signer is None


# -- bodies -----------------------------------------------------------------------------------------
def test_amend_template_splits_the_body_the_client_sends() -> None:
    pre, mid, post = amend_template("KX-Q", "ask", 2)
    whole = encode_json(amend_body("KX-Q", "ask", "0.4900", "6.00", None, None, 2))
    assert pre + b"0.4900" + mid + b"6.00" + post == whole
    assert whole == b'{"ticker":"KX-Q","side":"ask","price":"0.4900","count":"6.00","exchange_index":2}'
    named = amend_body("KX-Q", "bid", "0.1000", "1.00", "a", "b", None)
    assert named == {"ticker": "KX-Q", "side": "bid", "price": "0.1000", "count": "1.00",
                     "client_order_id": "a", "updated_client_order_id": "b"}


def _orders(request: Any = None, markets: dict[str, Any] | None = None) -> tuple[Orders, Presigner]:
    async def unused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("no request here")

    presigner = _presigner(None)
    reads = Reads(request or unused, unused, {} if markets is None else markets, signed=False)
    resolver = Resolver(None, unused, unused, unused, resolve_margin_s=0.0, resolve_timeout_s=1.0)  # type: ignore[arg-type]
    return Orders(request or unused, reads, resolver, presigner, lambda: "cb-1"), presigner


def test_order_body_formats_and_checks_every_field() -> None:
    orders, _ = _orders()
    args = ("good_till_canceled", "taker_at_cross", None, None, None, None, None, None)
    body = orders.order_body(T, "bid", 4200, 1000, "c1", 0, *args)
    assert encode_json(body) == (b'{"ticker":"KXDEMO-26DEC31-T50","client_order_id":"c1","side":"bid",'
                                 b'"count":"10.00","price":"0.4200","time_in_force":"good_till_canceled",'
                                 b'"self_trade_prevention_type":"taker_at_cross","exchange_index":0}')
    full = orders.order_body(T, "ask", 1, 1, "c2", None, "immediate_or_cancel", "maker", 1900000000, True,
                             False, True, "g1", 3)
    assert list(full)[7:] == ["expiration_time", "post_only", "reduce_only", "cancel_order_on_pause",
                              "order_group_id", "subaccount"]
    bad = [(("buy", 4200, 1000) + args, "side"), (("bid", 0, 1000) + args, "price_bp"),
           (("bid", 4200, 0) + args, "count"), (("bid", 4200, 10, "gtc") + args[1:], "time_in_force"),
           (("bid", 4200, 10, args[0], "none") + args[2:], "self_trade_prevention_type")]
    for arguments, named in bad:
        side, price, count, *rest = arguments
        with pytest.raises(ValueError, match=named):
            orders.order_body(T, side, price, count, "c", None, *rest)


def test_orders_keep_counts_and_shards_and_forget_them() -> None:
    async def body() -> None:
        orders, presigner = _orders()
        orders.note_counts("o1", 0, 500)
        orders.note_counts("o2", 100, 400)
        orders.note_counts("o1", 200, 300)  # the newest last
        assert list(orders.counts.items()) == [("o2", (100, 400)), ("o1", (200, 300))]
        orders.note_counts("o2", 500, 0)  # nothing rests: no baseline kept
        assert "o2" not in orders.counts
        orders.shards["o1"] = 2
        assert await orders.shard(None, 1, "o1") == 1  # the caller's first
        assert await orders.shard(None, None, "o1") == 2
        assert await orders.shard(None, None, "o9") is None
        orders.forget_order("o1")
        assert orders.shards == {} and not orders.counts

    asyncio.run(body())


# -- the writes, against the sim --------------------------------------------------------------------
def _signed(url: str, credentials: Credentials, session: aiohttp.ClientSession,
            presigner: Presigner, budget: RateBudget) -> Transport:
    transport = Transport(url, PREFIX, credentials, budget, None, presigner.sign_into, lambda: None,
                          presigner.stats, read_retries=2, rate_limit_retries=3)
    transport.session = session
    return transport


def test_orders_and_cancels_write_against_the_sim() -> None:
    async def body() -> None:
        async with run_sim(seed=33, tier="unlimited") as sim, aiohttp.ClientSession() as session:
            creds = Credentials(sim.api_key_id, sim.private_key_pem)
            presigner = Presigner(creds, PREFIX, _stats(), presign=False, max_age_s=1.0, depth=2, orders=4,
                                  order_paths=("cancel",), signer="inline")
            t = _signed(sim.rest_url, creds, session, presigner, RateBudget())
            reads = Reads(t.request, t.pages, {}, signed=True)
            resolver = Resolver(t, reads.get_order, reads.get_orders, reads.get_user_data_timestamp,
                                resolve_margin_s=0.0, resolve_timeout_s=2.0)
            ids = iter(range(1, 100))
            orders = Orders(t.request, reads, resolver, presigner, lambda: f"w-{next(ids)}")
            cancels = Cancels(orders, t.request, resolver, presigner)
            assert await orders.market_shard(T_CENTI) == 2 and T_CENTI in reads.markets
            made = await orders.create_order(T_CENTI, "bid", 1000, 300)
            assert made.client_order_id == "w-1" and orders.shards == {made.order_id: 2}
            assert orders.counts[made.order_id] == (0, 300)
            amended = await orders.amend_order(made.order_id, T_CENTI, "bid", 1100, 300)
            assert amended.order_id == made.order_id and made.order_id not in orders.counts
            assert sim.exchange.orders[made.order_id].price_bp == 1100
            decreased = await orders.decrease_order(made.order_id, reduce_to=100, ticker=T_CENTI)
            assert decreased.remaining_count == 100
            batch = await orders.batch_create_orders([{"ticker": T, "side": "bid", "price_bp": 900 + 100 * i,
                                                       "count": 100} for i in range(2)])
            assert all(item.ok for item in batch), batch
            assert {orders.shards[b.order_id] for b in batch} == {0}
            with pytest.raises(TypeError, match="colour"):
                await orders.batch_create_orders([{"ticker": T, "side": "bid", "price_bp": 900, "count": 1,
                                                   "colour": "red"}])
            cancelled = await cancels.cancel_order(made.order_id, ticker=T_CENTI)
            assert cancelled.order_id == made.order_id and made.order_id not in orders.shards
            items = await cancels.batch_cancel_orders([b.order_id for b in batch])
            assert [i.order_id for i in items] == [b.order_id for b in batch], items
            assert all(i.ok for i in items), items
            again = await orders.create_order(T, "ask", 9000, 100)
            assert await cancels.cancel_all_orders() == [again.order_id]

    asyncio.run(body())


def test_armer_writes_nothing_without_the_order_lane() -> None:
    async def body() -> None:
        async with run_sim(seed=34, tier="unlimited") as sim, aiohttp.ClientSession() as session:
            creds = Credentials(sim.api_key_id, sim.private_key_pem)
            presigner = Presigner(creds, PREFIX, _stats(), presign=True, max_age_s=1.0, depth=2, orders=4,
                                  order_paths=("cancel", "amend"), signer="inline")
            budget = RateBudget()
            t = _signed(sim.rest_url, creds, session, presigner, budget)
            armer = Armer(t, None, presigner, budget, presigner.stats, {"o1": 0}, {}, {})
            assert armer.start_amend("o1", T, "bid", 4100, 300) is None
            assert armer.arm_amend("o1", T, "bid") is None and armer.arm_cancel("o1", T) is None
            assert armer.arm_amend("o2", T, "bid") is None  # no shard known either
            assert presigner.stats["requests"] == 0

    asyncio.run(body())


def test_budget_upkeep_sizes_the_budget_from_the_exchange() -> None:
    async def body() -> None:
        async with run_sim(seed=35, tier="basic") as sim, aiohttp.ClientSession() as session:
            creds = Credentials(sim.api_key_id, sim.private_key_pem)
            budget = RateBudget(Limits(1000, 1000, 1000, 1000, "guess"))
            presigner = _presigner(creds, presign=False)
            t = _signed(sim.rest_url, creds, session, presigner, budget)
            reads = Reads(t.request, t.pages, {}, signed=True)
            unsigned = BudgetUpkeep(budget, reads, False, auto_limits=True, refresh_limits_s=60.0)
            unsigned.schedule_recalibration()  # no account to read: nothing starts
            assert unsigned.tasks() == [None, None]
            upkeep = BudgetUpkeep(budget, reads, True, auto_limits=True, refresh_limits_s=60.0)
            await upkeep.start()
            limits = await reads.get_account_api_limits()
            limits_cost = (await reads.get_account_endpoint_costs()).default_cost
            assert budget.core.limits.tier == limits.usage_tier == "basic"
            assert budget.cost_of("GET", PREFIX + "/markets") == limits_cost
            refresh, pending = upkeep.tasks()
            assert refresh is not None and pending is None
            upkeep.schedule_recalibration()
            pending = upkeep.tasks()[1]
            assert pending is not None
            await pending
            refresh.cancel()

    asyncio.run(body())
