<?php
// The benchmark's session read and write: a counter in $_SESSION (the handler is set by the pool).
session_start();
$_SESSION["n"] = ($_SESSION["n"] ?? 0) + 1;
echo "n: " . $_SESSION["n"];
