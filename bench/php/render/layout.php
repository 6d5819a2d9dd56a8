<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title><?= e($title) ?></title></head>
<body>
<header><h1><?= e($title) ?></h1></header>
<main>
<?= $body ?>
</main>
<footer>tscgi benchmark</footer>
</body>
</html>
