/* crypto/backend.h for fuzzing builds: identity AEAD, zero masks, fake signatures. */
#include "crypto/backend.h"

const char *crypto_backend_name(void)
{
    return "null";
}
