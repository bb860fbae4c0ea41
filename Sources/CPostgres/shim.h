/* libpq from the system (Debian's libpq-dev). */
#ifndef KASPA_SENSOR_CPOSTGRES_SHIM_H
#define KASPA_SENSOR_CPOSTGRES_SHIM_H
#include <libpq-fe.h>
#endif
