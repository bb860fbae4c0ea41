// Compile-time checks of the ABI layout on LP64 platforms (Linux x86_64 / aarch64).
// A change that moves a member fails the build here instead of breaking plugins at run time.
#include "sensor_plugin.h"

#if defined(__LP64__)
_Static_assert(sizeof(sensor_str) == 16, "sensor_str layout");
_Static_assert(sizeof(sensor_field) == 56, "sensor_field is frozen");
_Static_assert(offsetof(sensor_field, text_value) == 40, "sensor_field is frozen");
_Static_assert(offsetof(sensor_event, sequence) == 8, "sensor_event layout");
_Static_assert(offsetof(sensor_event, kind) == 24, "sensor_event layout");
_Static_assert(offsetof(sensor_event, fields) == 88, "sensor_event layout");
_Static_assert(sizeof(sensor_event) == 104, "sensor_event 1.0 size");
_Static_assert(offsetof(sensor_host_api, host_context) == 8, "sensor_host_api layout");
_Static_assert(offsetof(sensor_host_api, log) == 48, "sensor_host_api layout");
_Static_assert(offsetof(sensor_host_api, event_json) == 72, "sensor_host_api 1.0 members unchanged");
_Static_assert(offsetof(sensor_host_api, retry_after) == 80, "sensor_host_api 1.1 members unchanged");
_Static_assert(sizeof(sensor_host_api) == 104, "sensor_host_api 1.2 size");
_Static_assert(offsetof(sensor_plugin, name) == 16, "sensor_plugin layout");
_Static_assert(offsetof(sensor_plugin, create) == 40, "sensor_plugin layout");
_Static_assert(sizeof(sensor_plugin) == 72, "sensor_plugin 1.0 size");
#endif

// Nothing is exported from this file; it exists so SwiftPM builds the C module and runs the checks above.
__attribute__((visibility("hidden"))) int sensor_plugin_api_layout_checked(void);
int sensor_plugin_api_layout_checked(void) { return 1; }
