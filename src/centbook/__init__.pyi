from centbook.auth import Credentials as Credentials
from centbook.auth import CredentialsError as CredentialsError
from centbook.book import BookFault as BookFault
from centbook.book import BookState as BookState
from centbook.book import OrderBook as OrderBook
from centbook.book import Side as Side
from centbook.books import Books as Books
from centbook.books import DecodeError as DecodeError
from centbook.books import FrameKind as FrameKind
from centbook.errors import AuthenticationError as AuthenticationError
from centbook.errors import ExchangeError as ExchangeError
from centbook.errors import KalshiError as KalshiError
from centbook.errors import OrderNotPlacedError as OrderNotPlacedError
from centbook.errors import OutcomeUnknownError as OutcomeUnknownError
from centbook.errors import RateLimitedError as RateLimitedError
from centbook.errors import RejectedError as RejectedError
from centbook.errors import ServerError as ServerError
from centbook.fixed import format_money as format_money
from centbook.fixed import format_price as format_price
from centbook.fixed import format_size as format_size
from centbook.fixed import parse_money as parse_money
from centbook.fixed import parse_price_bp as parse_price_bp
from centbook.fixed import parse_size as parse_size
from centbook.grid import PriceGrid as PriceGrid
from centbook.messages import decode as decode
from centbook.rest import RestClient as RestClient

__version__: str
