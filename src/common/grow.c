/* Doubling growth of heap arrays (see grow.h). */
#include "common/grow.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

int tld_grow(void *arrayp, unsigned *cap, unsigned need, size_t elem, unsigned first_cap)
{
    if (need <= *cap)
        return 0;
    unsigned c = *cap ? *cap : first_cap ? first_cap : 1;
    while (c < need) {
        if (c > UINT_MAX / 2)
            return TLD_ENOMEM;
        c *= 2;
    }
    if (elem == 0 || c > SIZE_MAX / elem)
        return TLD_ENOMEM;
    /* The pointer is read and written as bytes: `arrayp` is a `T **` for some T, and going
     * through `void **` would access a `T *` object as another type. */
    void *old;
    memcpy(&old, arrayp, sizeof old);
    void *grown = realloc(old, (size_t)c * elem);
    if (!grown)
        return TLD_ENOMEM;
    memcpy(arrayp, &grown, sizeof grown);
    *cap = c;
    return 0;
}
