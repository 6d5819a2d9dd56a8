interface A { a: number }

export default function () {
  throw new Error('x');
}
