/**
 * The framework end to end with raw L1 resources only: a network, subnet, router, security group, port, server
 * and floating IP, with site values as parameters. No Kubernetes knowledge involved.
 */
import { App, Fn, HeatOutput, HeatParameter, HeatStack } from 'hotk8s';
import {
  OsNeutronFloatingIP,
  OsNeutronNet,
  OsNeutronPort,
  OsNeutronRouter,
  OsNeutronRouterInterface,
  OsNeutronSecurityGroup,
  OsNeutronSubnet,
  OsNovaServer,
} from '../src/heat/index.js';

export default function (): App {
  const app = new App();
  const stack = new HeatStack(app, 'l1-server', { description: 'One server on its own network, reachable over SSH' });

  const image = new HeatParameter(stack, 'image', {
    type: 'string',
    label: 'Image',
    description: 'Glance image with cloud-init',
    constraints: [{ customConstraint: 'glance.image' }],
  });
  const flavor = new HeatParameter(stack, 'flavor', {
    type: 'string',
    label: 'Flavor',
    value: 'm1.small',
    constraints: [{ customConstraint: 'nova.flavor' }],
  });
  const key = new HeatParameter(stack, 'key_name', {
    type: 'string',
    label: 'Key pair',
    constraints: [{ customConstraint: 'nova.keypair' }],
  });
  const external = new HeatParameter(stack, 'external_network', {
    type: 'string',
    label: 'External network',
    value: 'public',
    constraints: [{ customConstraint: 'neutron.network' }],
  });
  const sshFrom = new HeatParameter(stack, 'ssh_cidr', { type: 'string', label: 'SSH allowed from', value: '192.0.2.0/24' });
  stack.addParameterGroup({ label: 'Site', parameters: [image, flavor, key, external, sshFrom] });

  const net = new OsNeutronNet(stack, 'Network', { name: 'l1-net' });
  const subnet = new OsNeutronSubnet(stack, 'Subnet', {
    network: net.ref(),
    cidr: '10.20.0.0/24',
    ipVersion: 4,
    dnsNameservers: ['192.0.2.53'],
  });
  const router = new OsNeutronRouter(stack, 'Router', { externalGatewayInfo: { network: external.value } });
  const routerInterface = new OsNeutronRouterInterface(stack, 'RouterInterface', { router: router.ref(), subnet: subnet.ref() });
  const sg = new OsNeutronSecurityGroup(stack, 'SecurityGroup', {
    description: 'SSH from the given range only',
    rules: [{ direction: 'ingress', protocol: 'tcp', portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: sshFrom.value }],
  });
  const port = new OsNeutronPort(stack, 'Port', {
    network: net.ref(),
    fixedIps: [{ subnet: subnet.ref() }],
    securityGroups: [sg.ref()],
  });
  const server = new OsNovaServer(stack, 'Server', {
    image: image.value,
    flavor: flavor.value,
    keyName: key.value,
    networks: [{ port: port.ref() }],
    userDataFormat: 'RAW',
    userData: '#cloud-config\npackage_update: true\n',
  });
  const fip = new OsNeutronFloatingIP(stack, 'FloatingIp', { floatingNetwork: external.value, portId: port.ref() });
  fip.addDependency(routerInterface);

  new HeatOutput(stack, 'address', { description: 'Public address', value: fip.attrFloatingIpAddress });
  new HeatOutput(stack, 'ssh', {
    description: 'SSH command',
    value: Fn.strReplace('ssh ubuntu@ADDR', { ADDR: fip.attrFloatingIpAddress }),
  });
  new HeatOutput(stack, 'server_id', { value: server.ref() });
  return app;
}
