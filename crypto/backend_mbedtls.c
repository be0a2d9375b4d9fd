/* crypto/backend.h over mbedTLS 2.28: every mbedTLS call of the project lives here. */
#include "crypto/backend.h"

const char *crypto_backend_name(void)
{
    return "mbedtls";
}
