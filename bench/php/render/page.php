<table>
<tr><th>#</th><th>Name</th><th>City</th><th>Score</th></tr>
<?php foreach ($rows as $row): ?>
<tr><td><?= e($row['id']) ?></td><td><?= e($row['name']) ?></td><td><?= e($row['city']) ?></td><td><?= e($row['score']) ?></td></tr>
<?php endforeach; ?>
</table>
