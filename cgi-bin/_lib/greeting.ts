// A local module shared by scripts; never routable (its folder starts with "_").
let served = 0;

export function greet(name: string): string {
  served += 1;
  return `Hello, ${name} (greeting #${served} from this worker)`;
}
