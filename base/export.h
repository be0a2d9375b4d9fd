/* The export macro: what the installed library shows to its users. */
#ifndef BASE_EXPORT_H
#define BASE_EXPORT_H

/*
 * Public functions carry QUINCE_API; the library is built with hidden
 * visibility, so everything else stays inside it (and a static link drops
 * what is unused).
 */
#if defined(__GNUC__)
#define QUINCE_API __attribute__((visibility("default")))
#else
#define QUINCE_API
#endif

#endif
