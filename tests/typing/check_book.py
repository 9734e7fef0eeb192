"""Type-checked by mypy in `make lint`: the stubs describe how the book is used."""
from centbook import BookState, OrderBook, PriceGrid, Side, parse_price_bp

grid: PriceGrid = PriceGrid.from_ranges([{"start": "0.0000", "end": "1.0000", "step": "0.0010"}])
book = OrderBook("KX", grid)
book.apply_snapshot([("0.4200", "10.00")], None)
new_size: int = book.apply_delta(Side.YES, parse_price_bp("0.4210"), -100)
top = book.best_bid(Side.YES)
if top is not None:
    price_bp, size = top
state: BookState = book.state
