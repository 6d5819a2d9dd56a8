<?php
// The benchmark's form POST: the urlencoded fields PHP parsed into $_POST, echoed as a count.
echo "fields: " . count($_POST);
