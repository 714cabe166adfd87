from . import test_data_exports, test_data_exports_parser
