<?php
// Fault benchmark: PHP's counterpart of cgi-bin/exit.ts.
exit(1);
