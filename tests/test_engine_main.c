/* test_engine_main.c - runs the engine, format and hash tests as one cmocka group, so
 * scripts/run-cmocka sees one summary. */
#include <stdlib.h>
#include <string.h>

#include "test_engine.h"

int main(void)
{
    size_t n = engine_tests_n + format_tests_n + hash_tests_n;
    struct CMUnitTest *all = malloc(n * sizeof(*all));
    if (!all)
        return 1;
    memcpy(all, hash_tests, hash_tests_n * sizeof(*all));
    memcpy(all + hash_tests_n, format_tests, format_tests_n * sizeof(*all));
    memcpy(all + hash_tests_n + format_tests_n, engine_tests, engine_tests_n * sizeof(*all));
    int rc = _cmocka_run_group_tests("engine", all, n, NULL, NULL);
    free(all);
    return rc;
}
