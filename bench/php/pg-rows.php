<?php
// The benchmark's database page: 20 rows read from PostgreSQL through a persistent PDO connection, rendered by a plain PHP template.
$db = new PDO(getenv("BENCH_PG_DSN"), null, null, [
    PDO::ATTR_PERSISTENT => true,
    PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
    PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC,
]);
$stmt = $db->prepare("SELECT id, name, email, note FROM bench_rows ORDER BY id LIMIT :n");
$stmt->bindValue(":n", 20, PDO::PARAM_INT);
$stmt->execute();
$rows = $stmt->fetchAll();
function e($s) { return htmlspecialchars((string) $s, ENT_QUOTES, "UTF-8"); }
?><!doctype html>
<html><head><meta charset="utf-8"><title>Rows</title></head><body>
<table>
<tr><th>id</th><th>name</th><th>email</th><th>note</th></tr>
<?php foreach ($rows as $r): ?><tr><td><?= e($r["id"]) ?></td><td><?= e($r["name"]) ?></td><td><?= e($r["email"]) ?></td><td><?= e($r["note"]) ?></td></tr>
<?php endforeach; ?></table>
</body></html>
