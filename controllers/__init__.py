from . import signoff
