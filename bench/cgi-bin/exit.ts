// Fault benchmark: a buggy script that ends its worker process, the way a stray process.exit() does.
export default function () {
  process.exit(1);
}
