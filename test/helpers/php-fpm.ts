// PHP-FPM's status page fields, in its order (php-src sapi/fpm/fpm/fpm_status.c), as a client expects them.
export const PHP_FPM_POOL_FIELDS = [
  "pool",
  "process manager",
  "start time",
  "start since",
  "accepted conn",
  "listen queue",
  "max listen queue",
  "listen queue len",
  "idle processes",
  "active processes",
  "total processes",
  "max active processes",
  "max children reached",
  "slow requests",
];
