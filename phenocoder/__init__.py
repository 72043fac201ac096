__version__ = "0.1.0"

from .core import Phenocoder, check_key, check_name, radius_graph
from . import patches
from . import graph_stats
from . import cvae
from . import encoding
from . import condcvae
from . import data
from . import embedding
from . import explorer
from . import training
