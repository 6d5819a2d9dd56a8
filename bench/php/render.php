<?php
// The benchmark's template page, PHP's way: 20 rows from an array, a page template that includes a
// layout file, every value through htmlspecialchars (bench/cgi-bin/render.ts renders the same).
function e($value) { return htmlspecialchars((string) $value, ENT_QUOTES, 'UTF-8'); }
$rows = [];
for ($i = 1; $i <= 20; $i++) {
    $rows[] = ['id' => $i, 'name' => "User $i <$i@example.com>", 'city' => $i % 2 ? 'Zürich & Bern' : 'Lyon', 'score' => $i * 7];
}
$title = 'Users & scores';
ob_start();
include __DIR__ . '/render/page.php';
$body = ob_get_clean();
include __DIR__ . '/render/layout.php';
