"""The bounds of the numbers Tailor is given, in one place for the API's schemas, the settings and the command line
alike, so that a number the API answers with a 422 naming its field is a usage error naming the option in `tailor`.
Nothing is imported here: the command line reads these bounds without slowing `tailor --help`."""

# The largest integer both databases hold (SQLite's INTEGER, PostgreSQL's BIGINT): past it, a driver fails to
# convert the number instead of finding nothing, so offsets are refused beyond it.
DATABASE_INT_MAX = 2**63 - 1
# The largest id a row has: the id columns are INTEGER, 4 bytes on PostgreSQL, which refused a larger one in a
# query as out of range (a 422 that named no field) where SQLite found nothing (404).
ROW_ID_MAX = 2**31 - 1
# A count a request asks for and a column stores (INTEGER: 4 bytes on PostgreSQL), such as a campaign's customers.
COUNT_MAX = 2**31 - 1
# The largest money value and quantity Tailor is given: a trillion in the shop's currency for a line's amount, a
# price, a discount, a margin or a conversion's value (more than any real order, even in a currency of many small
# units: a trillion dong is some 40 million dollars), and a billion units on a line (a return's may be as negative).
# Finite numbers near a float's limit (1.7e308) were imported, two of them added up to infinity in a customer's
# spend, and every audience refresh after failed in KMeans, naming no row.
AMOUNT_MAX = 10**12
QUANTITY_MAX = 10**9
# The most Optuna trials a training searches the recommender's hyperparameters with (POST /train, `tailor train`).
TUNING_TRIALS_MAX = 500
# The longest churn horizon, in days: ten years, longer than any shop's customers are followed. Dates a horizon
# of some 270 years apart overflowed pandas' timestamps (a traceback) where they were not simply meaningless.
HORIZON_DAYS_MAX = 3650
# The longest a settings' span of days looks back (an outcome window, the contact policy's wait, a conversion
# window): a century. Moments some 2,700 years back fell before the calendar's year 1, and the training, the send or
# the experiment that reached back so far failed in an OverflowError traceback.
LOOK_BACK_DAYS_MAX = 36_500
# The most customers `tailor demo` makes up: a store of a million is tens of millions of rows to import; a shop that
# size is imported from its own files. Far more failed in numpy with a traceback.
DEMO_CUSTOMERS_MAX = 1_000_000
# The largest weight of a recommendation boost (margin, new arrivals): the model's ranking scores 1 to 0 and a boosted
# column 0 to 1, so a weight of 1,000 already puts the boost a thousand rankings' span ahead. Two weights near 1e308
# added up to infinity, and the recommendations were answered scored null, where the API's schema says a number.
BOOST_WEIGHT_MAX = 1000.0
# The largest discount of a new arrival's score for being unlike the known product it is ranked by: at 2 it is in no
# list of Online Retail's last month any more (python -m evals.recommenders.new_arrivals --discount 2), so 10 puts it
# far below any candidate; past it the setting is a typing mistake, not a choice.
NEW_ARRIVALS_DISCOUNT_MAX = 10.0
