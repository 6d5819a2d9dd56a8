<?php
// The benchmark's POST of 1 MiB: the whole request body read into memory, answered with its size.
echo "bytes: " . strlen(file_get_contents("php://input"));
