module tscgi.bench/gofcgi

go 1.19
