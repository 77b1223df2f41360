/* The version every ThreatLockDown program reports (keepalives, own events, --version). */
#ifndef TLD_COMMON_VERSION_H
#define TLD_COMMON_VERSION_H

#define TLD_VERSION "0.1.0"

#endif
