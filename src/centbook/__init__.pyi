from centbook.book import BookFault as BookFault
from centbook.book import BookState as BookState
from centbook.book import OrderBook as OrderBook
from centbook.book import Side as Side
from centbook.fixed import format_money as format_money
from centbook.fixed import format_price as format_price
from centbook.fixed import format_size as format_size
from centbook.fixed import parse_money as parse_money
from centbook.fixed import parse_price_bp as parse_price_bp
from centbook.fixed import parse_size as parse_size
from centbook.grid import PriceGrid as PriceGrid

__version__: str
