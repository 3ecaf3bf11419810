/* libFuzzer target: any bytes through the config parser must give either a
 * plan or a clean usage error: no crash, no leak, no sanitizer report. */
#include <stddef.h>
#include <stdint.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rmt_plan *plan = NULL;
    rmt_err_clear();
    rmt_status s = rmt_config_parse((const char *)data, size, "fuzz.json", &plan);
    if (s == RMT_OK) {
        /* exercise what the program does next with a plan */
        (void)rmt_config_check_memory(plan, 4, 1e9, "fuzz");
        rmt_plan_destroy(plan);
    }
    return 0;
}
