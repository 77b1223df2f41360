/* tld-logtest: placeholder entry until the engine lands (replaced in the same series). */
#include <stdio.h>
int main(void)
{
    fprintf(stderr, "tld-logtest: engine not built yet\n");
    return 1;
}
