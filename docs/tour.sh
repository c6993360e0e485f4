#!/usr/bin/env bash
# The README's five-minute tour (scenario 5 on a test clock), runnable as is against `make dev`.
set -euo pipefail
KEY=${TENURE_API_KEY:-tenure_dev_key}
SUB=http://127.0.0.1:8101/v1 INV=http://127.0.0.1:8102/v1 DUN=http://127.0.0.1:8103/v1
api() { curl -sS -H "Authorization: Bearer $KEY" -H 'content-type: application/json' "$@"; echo; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
wait_ready() { until api "$SUB/test-clocks/$CLOCK" | grep -q '"ready"'; do sleep 0.2; done; }
advance() { api -X POST "$SUB/test-clocks/$CLOCK/advance" -d "{\"frozen_time\": \"$1\"}" >/dev/null; wait_ready; }
RUN=$RANDOM

# 1. A catalog: `pro` at 49.00 a month, `free` at 0.00, and `free` as the fallback plan.
api -X POST $SUB/plans -d "{\"code\": \"pro-$RUN\", \"name\": \"Pro\", \"currency\": \"USD\", \"amount\": 4900, \"interval\": \"month\"}"
api -X POST $SUB/plans -d "{\"code\": \"free-$RUN\", \"name\": \"Free\", \"currency\": \"USD\", \"amount\": 0, \"interval\": \"month\"}"
api -X PATCH $SUB/settings -d "{\"free_plan_code\": \"free-$RUN\"}"
api -X PUT $DUN/dunning-policy -d '{"retry_after_days": [1, 3, 5], "final_action": "move_to_free_plan"}'

# 2. A test clock on 2026-03-01, a customer living on it, and a subscription (invoice paid at once).
CLOCK=$(api -X POST $SUB/test-clocks -d '{"frozen_time": "2026-03-01T00:00:00Z"}' | field '["id"]')
CUS=$(api -X POST $SUB/customers -d "{\"email\": \"ada@example.com\", \"name\": \"Ada\", \"currency\": \"USD\", \"payment_method\": \"pm_test_ok\", \"test_clock_id\": \"$CLOCK\"}" | field '["id"]')
SUBID=$(api -X POST $SUB/subscriptions -d "{\"customer_id\": \"$CUS\", \"plan_code\": \"pro-$RUN\"}" | field '["id"]')
wait_ready
api "$INV/invoices?customer_id=$CUS" | field '["data"][0]["status"]'          # paid

# 3. The card starts declining; a month and six days pass in a second or two.
api -X PATCH $SUB/customers/$CUS -d '{"payment_method": "pm_test_declined"}' >/dev/null
advance 2026-04-07T00:00:00Z
api "$DUN/dunning-cases?customer_id=$CUS" | field '["data"][0]["status"]'      # exhausted (04-01, 04-02, 04-04, 04-06)
api "$INV/invoices?customer_id=$CUS&status=void" | field '["data"][0]["void_reason"]'  # dunning_exhausted
api $SUB/subscriptions/$SUBID | field '["plan_code"]'                         # free-…, same subscription id

# 4. A working card again, and back to pro: a new period starts today with a paid invoice.
api -X PATCH $SUB/customers/$CUS -d '{"payment_method": "pm_test_ok"}' >/dev/null
api -X POST $SUB/subscriptions/$SUBID/changes -d "{\"plan_code\": \"pro-$RUN\", \"when\": \"now\"}" | field '["subscription"]["current_period_start"]'
wait_ready
api "$INV/invoices?customer_id=$CUS&status=paid" | field '["data"][-1]["total"]'   # 4900
api $SUB/subscriptions/$SUBID/timeline | field '["data"][-1]["type"]'             # changed
