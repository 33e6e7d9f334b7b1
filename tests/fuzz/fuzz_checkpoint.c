/* Checkpoint loader: every validation step, then all three arenas. */
#include <stdlib.h>

#include "fuzz_input.h"
#include "glow/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    glow_checkpoint_state st;
    glow_param_table table;
    float *p = NULL, *m = NULL, *v = NULL;
    const char *path = fuzz_input_path(data, size);
    if (fuzz_check(glow_checkpoint_load(path, NULL, &st, &table, &p, &m, &v), size) != GLOW_OK)
        return 0;
    fuzz_accepted();
    for (int i = 0; i < table.count; i++) /* every entry lies inside the arena */
        fuzz_touch((const uint8_t *)(p + table.entries[i].off),
                   sizeof(float) * (size_t)table.entries[i].n * table.entries[i].h * table.entries[i].w *
                       table.entries[i].c);
    fuzz_touch((const uint8_t *)m, table.total * sizeof(float));
    fuzz_touch((const uint8_t *)v, table.total * sizeof(float));
    free(p);
    free(m);
    free(v);
    glow_param_table_free(&table);
    return 0;
}
